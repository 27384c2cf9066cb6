package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/cli"
	"github.com/botgate/botgate/cliout"
)

// The commands groups and projects share: kind is "group" or "project".

func namespaceListCmd[V any](a *apiCmd, f *apiclient.NamespaceFilter,
	list func(*apiclient.GitLab, context.Context, apiclient.NamespaceFilter, apiclient.Page) ([]V, error), short string) *cobra.Command {
	var pf cli.Page
	cmd := a.Command(&cobra.Command{
		Use: "list", Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.OnGitLabPage(a.API, pf, func(g *apiclient.GitLab, p apiclient.Page) ([]V, error) { return list(g, cmd.Context(), *f, p) })
		},
	})
	pf.Register(cmd)
	return cmd
}

func namespaceShowCmd[V any](a *apiCmd, kind string, show func(*apiclient.GitLab, context.Context, string) (V, error)) *cobra.Command {
	return a.Command(&cobra.Command{
		Use: "show ID|PATH", Short: "Show a " + kind, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.OnGitLab(a.API, func(g *apiclient.GitLab) (V, error) { return show(g, cmd.Context(), args[0]) })
		},
	})
}

// namespaceCreateCmd is 'group create' and 'project create'; within names
// the flag of the parent group, which a project requires.
func namespaceCreateCmd[V any](a *apiCmd, kind string, create func(*apiclient.GitLab, context.Context, apiclient.NewNamespace) (V, error),
	short, within, withinUsage, purpose string) *cobra.Command {
	var n apiclient.NewNamespace
	cmd := a.Command(&cobra.Command{
		Use: "create", Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := n.Check(kind); err != nil {
				return cliout.Usage(err)
			}
			return a.ChangeOn("Created", func(g *apiclient.GitLab) (any, error) { return create(g, cmd.Context(), n) })
		},
	})
	cmd.Flags().StringVar(&n.Name, "name", "", "display name (required)")
	cmd.Flags().StringVar(&n.Path, "path", "", "URL path (default: derived from the name)")
	cmd.Flags().StringVar(&n.Within, within, "", withinUsage)
	cmd.Flags().StringVar(&n.Description, "description", "", "what "+purpose)
	cmd.Flags().StringVar(&n.Visibility, "visibility", "", "private, internal or public (default: the server's)")
	return cmd
}

func namespaceUpdateCmd[V any](a *apiCmd, kind string, update func(*apiclient.GitLab, context.Context, string, apiclient.NamespaceEdit) (V, error)) *cobra.Command {
	var name, path, description, visibility string
	cmd := a.Command(&cobra.Command{
		Use: "update ID|PATH", Short: "Change a " + kind + "'s name, path, description or visibility", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cli.NeedChange(cmd, "name", "path", "description", "visibility"); err != nil {
				return err
			}
			return a.ChangeOn("Updated", func(g *apiclient.GitLab) (any, error) {
				return update(g, cmd.Context(), args[0], apiclient.NamespaceEdit{Name: cli.Changed(cmd, "name", name), Path: cli.Changed(cmd, "path", path),
					Description: cli.Changed(cmd, "description", description), Visibility: cli.Changed(cmd, "visibility", visibility)})
			})
		},
	})
	cmd.Flags().StringVar(&name, "name", "", "new display name")
	cmd.Flags().StringVar(&path, "path", "", "new URL path")
	cmd.Flags().StringVar(&description, "description", "", "new description")
	cmd.Flags().StringVar(&visibility, "visibility", "", "private, internal or public")
	return cmd
}

// deleteCmd builds a delete command that refuses to run without --yes;
// warn says what is lost. del returns what it deleted, for the output.
func (a *apiCmd) deleteCmd(use, short, warn string, del func(*apiclient.GitLab, context.Context, string) (string, error)) *cobra.Command {
	var yes bool
	cmd := a.Command(&cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return cliout.Usagef("%s; add --yes to go ahead", warn)
			}
			g, err := a.GitLab()
			if err != nil {
				return err
			}
			what, err := del(g, cmd.Context(), args[0])
			return a.Show(map[string]any{"deleted": args[0]}, err, cliout.Line("Deleted %s.", what))
		},
	})
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm the deletion")
	return cmd
}
