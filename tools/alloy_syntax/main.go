// Command alloy-syntax parses Alloy configuration files with Alloy's own parser (the
// github.com/grafana/alloy/syntax module at the release Alloy's go.mod requires), and prints
// every syntax error with its position. It exits 1 when a file does not parse. This is the
// project's own program: building Alloy itself does not fit the tests' time.
package main

import (
	"fmt"
	"os"

	"github.com/grafana/alloy/syntax/parser"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: alloy-syntax FILE.alloy...")
		os.Exit(2)
	}
	failed := false
	for _, name := range os.Args[1:] {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if _, err := parser.ParseFile(name, data); err != nil {
			fmt.Printf("%s: %v\n", name, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
