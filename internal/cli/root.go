// Package cli is the acre command line: `acre serve` runs the service; the
// other commands are the client, shaped like `az acr`, and talk only to
// the public APIs (the management API under /api/v1/ and /oauth2/).
package cli

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X .../cli.Version=...".
var Version = "dev"

// Execute runs the command line with args and returns the process exit
// code: 0 success, 1 failure, 2 usage error, 3 not found, 4 not signed in.
func Execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(normalizeArgs(args))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		root.PrintErrln("error:", err)
		var ue usageError
		if !errors.As(err, &ue) && isUsage(err) {
			return exitUsage
		}
	}
	return exitCode(err)
}

// newRoot builds the whole command tree.
func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "acre",
		Short:         "acre: a self-hosted, ACR-compatible container registry",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", "", "acre server URL (default: $ACRE_SERVER, then the signed-in profile)")
	pf.StringVarP(&g.out.format, "output", "o", "json", "output format: json, jsonc, table, tsv, yaml, none")
	pf.StringVar(&g.out.query, "query", "", "JMESPath query applied to the output")
	pf.StringP("resource-group", "g", "", "accepted as az has it and ignored: acre has no resource groups")
	pf.String("subscription", "", "accepted as az has it and ignored: acre has no subscriptions")
	pf.Bool("only-show-errors", false, "accepted as az has it")
	pf.Bool("verbose", false, "accepted as az has it")
	pf.Bool("debug", false, "accepted as az has it")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newServeCmd(), newVersionCmd(), newAccountCmd(g), newLoginCmd(g))
	root.AddCommand(newRegistryCmds(g)...)
	root.AddCommand(newAppServiceCmd(g), newWebAppCmd(g), newKeyVaultCmd(g))
	root.AddCommand(newCredentialCmd(g), newIdentityCmd(g), newRoleCmd(g), newScopeMapCmd(g), newTokenCmd(g), newRepositoryCmd(g), newWebhookCmd(g), newAuditCmd(g), newConfigCmd(g), newPurgeCmd(g), newMigrateCmd(g))
	root.AddCommand(newBuildCmd(g), newRunCmd(g), newTaskCmd(g))
	root.AddCommand(newManifestCmd(g), newCheckNameCmd(g), newCheckHealthCmd(g))
	return root
}

// isUsage recognizes cobra's own command-line errors.
func isUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "required flag", "invalid argument"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, _ []string) { cmd.Println("acre", Version) },
	}
}

// required marks flags as required.
// registryFlag gives each of cmds the required --registry (-r) flag.
func registryFlag(reg *string, cmds ...*cobra.Command) {
	for _, c := range cmds {
		c.Flags().StringVarP(reg, "registry", "r", "", "registry name")
		required(c, "registry")
	}
}

// nameFlag gives each of cmds the required --name (-n) flag, described as what.
func nameFlag(name *string, what string, cmds ...*cobra.Command) {
	for _, c := range cmds {
		c.Flags().StringVarP(name, "name", "n", "", what)
		required(c, "name")
	}
}

func required(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		_ = cmd.MarkFlagRequired(n)
	}
}
