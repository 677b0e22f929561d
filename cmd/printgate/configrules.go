package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/printgate/printgate/release/directory"
)

// checkRules checks the print rules of the queues (parsed by checkQueues)
// and of the groups, parses them into c.queues and c.groupRules, and
// refuses a rule that could never hold: a format no queue accepts, a
// group rule where the directory knows no groups.
func (c *Config) checkRules(p *problems) {
	loc, err := time.LoadLocation(c.Audit.TimeZone)
	if err != nil {
		loc = time.UTC // checkAudit said so
	}
	var accepted []string
	for i := range c.queues {
		q := &c.queues[i]
		key := fmt.Sprintf("queues[%d].rules", i)
		r, err := c.Queues[i].Rules.Parse("", loc)
		if err != nil {
			p.add(key, "%v", err)
		}
		for _, f := range r.Formats {
			if !slices.Contains(q.Formats, f) {
				p.add(key+".formats", "%q is not among the formats the queue accepts (%v)", f, q.Formats)
			}
		}
		q.Rules = r
		accepted = append(accepted, q.Formats...)
	}
	c.groupRules = nil
	for i, g := range c.RulesByGroup {
		key := fmt.Sprintf("rules_by_group[%d]", i)
		if c.Directory.Type != "ldap" {
			p.add(key, "rules by group need directory.type ldap: the built-in directory has no groups")
		} else if err := directory.CheckGroupDN(g.Group); err != nil {
			p.add(key+".group", "%v", err)
		}
		r, err := g.Config.Parse(g.Group, loc)
		if err != nil {
			p.add(key, "%v", err)
		}
		for _, f := range r.Formats {
			if !slices.Contains(accepted, f) {
				p.add(key+".formats", "%q is not among the formats any queue accepts", f)
			}
		}
		if r.Empty() {
			p.add(key, "sets no rule")
		}
		c.groupRules = append(c.groupRules, r)
	}
}
