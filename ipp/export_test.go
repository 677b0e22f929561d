package ipp

// JobsPage is DefaultJobsPage, for tests that list more than a page.
const JobsPage = DefaultJobsPage
