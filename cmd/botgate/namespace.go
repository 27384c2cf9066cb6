package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/cli"
	"github.com/botgate/botgate/cliout"
)

// The commands groups and projects share: kind is "group" or "project".

func namespaceListCmd[V any](a *apiCmd, f *apiclient.NamespaceFilter,
	list func(*apiclient.GitLab, context.Context, apiclient.NamespaceFilter, apiclient.Page) ([]V, error), short string) *cobra.Command {
	var pf cli.Page
	cmd := a.command(&cobra.Command{
		Use: "list", Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g, p, err := a.gitlabPage(pf)
			if err != nil {
				return err
			}
			vs, err := list(g, cmd.Context(), *f, p)
			return a.show(vs, err, nil)
		},
	})
	pf.Register(cmd)
	return cmd
}

func namespaceShowCmd[V any](a *apiCmd, kind string, show func(*apiclient.GitLab, context.Context, string) (V, error)) *cobra.Command {
	return a.command(&cobra.Command{
		Use: "show ID|PATH", Short: "Show a " + kind, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := a.gitlab()
			if err != nil {
				return err
			}
			v, err := show(g, cmd.Context(), args[0])
			return a.show(v, err, nil)
		},
	})
}

// namespaceCreateCmd is 'group create' and 'project create'; within names
// the flag of the parent group, which a project requires.
func namespaceCreateCmd[V any](a *apiCmd, kind string, create func(*apiclient.GitLab, context.Context, apiclient.NewNamespace) (V, error),
	short, within, withinUsage, purpose string) *cobra.Command {
	var n apiclient.NewNamespace
	cmd := a.command(&cobra.Command{
		Use: "create", Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(n.Name) == "" {
				return usageErr("--name is required")
			}
			if kind == "project" && n.Within == "" {
				return usageErr("--namespace is required: the group (ID or path) the project belongs to")
			}
			if n.Path == "" {
				if n.Path = apiclient.Slug(n.Name); n.Path == "" {
					return usageErr("cannot derive a path from --name %q: give --path", n.Name)
				}
			}
			g, err := a.gitlab()
			if err != nil {
				return err
			}
			v, err := create(g, cmd.Context(), n)
			return a.change("Created", v, err)
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
	cmd := a.command(&cobra.Command{
		Use:   "update ID|PATH",
		Short: "Change a " + kind + "'s name, path, description or visibility",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cli.NeedChange(cmd, "name", "path", "description", "visibility"); err != nil {
				return err
			}
			g, err := a.gitlab()
			if err != nil {
				return err
			}
			v, err := update(g, cmd.Context(), args[0], apiclient.NamespaceEdit{Name: cli.Changed(cmd, "name", name), Path: cli.Changed(cmd, "path", path),
				Description: cli.Changed(cmd, "description", description), Visibility: cli.Changed(cmd, "visibility", visibility)})
			return a.change("Updated", v, err)
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
	cmd := a.command(&cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return usageErr("%s; add --yes to go ahead", warn)
			}
			g, err := a.gitlab()
			if err != nil {
				return err
			}
			what, err := del(g, cmd.Context(), args[0])
			return a.show(map[string]any{"deleted": args[0]}, err, cliout.Line("Deleted %s.", what))
		},
	})
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm the deletion")
	return cmd
}
