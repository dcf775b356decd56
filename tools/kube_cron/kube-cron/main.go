// kube-cron prints the runs a Kubernetes CronJob is scheduled at, computed by the cron parser
// the CronJob controller and the API server's validation use (github.com/robfig/cron/v3's
// ParseStandard, at the release Kubernetes 1.35 requires), in the CronJob's time zone: each
// run is the schedule's Next of the previous one.
//
// Usage: kube-cron START N TIMEZONE < schedules
//
// START is an RFC 3339 time; for each line of stdin (a schedule), one line: the schedule, a
// tab, and its next N runs after START as UTC RFC 3339 times separated by spaces, or `refused:`
// and the parser's error.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: kube-cron START N TIMEZONE < schedules")
		os.Exit(2)
	}
	start, err := time.Parse(time.RFC3339, os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube-cron: START:", err)
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "kube-cron: N must be a positive integer")
		os.Exit(2)
	}
	zone, err := time.LoadLocation(os.Args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube-cron: TIMEZONE:", err)
		os.Exit(2)
	}
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		schedule := lines.Text()
		sched, err := cron.ParseStandard(schedule)
		if err != nil {
			fmt.Printf("%s\trefused: %v\n", schedule, err)
			continue
		}
		runs := make([]string, 0, n)
		t := start.In(zone)
		for range n {
			t = sched.Next(t)
			if t.IsZero() {
				break
			}
			runs = append(runs, t.UTC().Format(time.RFC3339))
		}
		fmt.Printf("%s\t%s\n", schedule, strings.Join(runs, " "))
	}
}
