// Command acre is the acre registry service (`acre serve`) and its CLI.
package main

import (
	"context"
	"os"

	"github.com/acre-project/acre/internal/cli"
)

func main() {
	os.Exit(cli.Execute(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
