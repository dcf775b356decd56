// cron-next prints the runs supercronic schedules for each job of a crontab, computed by
// supercronic's own parser and schedule (its crontab package, as its cron loop uses them:
// each run is the expression's Next of the previous one, in the crontab's time zone).
//
// Usage: cron-next START N < crontab
//
// START is an RFC 3339 time; for each job, in order, one line: the job's schedule, a tab, and
// its next N runs after START as UTC RFC 3339 times separated by spaces. A crontab supercronic
// refuses exits 1 with its error.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aptible/supercronic/crontab"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: cron-next START N < crontab")
		os.Exit(2)
	}
	start, err := time.Parse(time.RFC3339, os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "cron-next: START:", err)
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "cron-next: N must be a positive integer")
		os.Exit(2)
	}
	tab, err := crontab.ParseCrontab(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cron-next:", err)
		os.Exit(1)
	}
	for _, job := range tab.Jobs {
		runs := make([]string, 0, n)
		t := start.In(tab.Context.Timezone)
		for range n {
			t = job.Expression.Next(t)
			if t.IsZero() {
				break
			}
			runs = append(runs, t.UTC().Format(time.RFC3339))
		}
		fmt.Printf("%s\t%s\n", job.Schedule, strings.Join(runs, " "))
	}
}
