// Package cli is the acre command line: `acre serve` runs the service; the
// other commands are the client, shaped like `az acr`.
package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X .../cli.Version=...".
var Version = "dev"

// Execute runs the command line with args and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "acre",
		Short:         "acre: a self-hosted, ACR-compatible container registry",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCmd(), newVersionCmd())
	if err := root.ExecuteContext(ctx); err != nil {
		root.PrintErrln("error:", err)
		return 1
	}
	return 0
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, _ []string) { cmd.Println("acre", Version) },
	}
}
