package cli

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// confirm asks msg on the terminal unless yes, as az's prompts do: it
// reports whether to go on. Without a terminal (standard input is a file
// or a pipe) it refuses with a usage error that names --yes.
func confirm(cmd *cobra.Command, yes bool, msg string) (bool, error) {
	if yes {
		return true, nil
	}
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok {
		if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			return false, usageError{fmt.Errorf("unable to prompt for confirmation as no tty is available: add --yes")}
		}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s (y/n): ", msg)
	line, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
