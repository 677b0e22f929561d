package ipp

// JobsPage is jobsPage, for tests that list more than a page.
const JobsPage = jobsPage
