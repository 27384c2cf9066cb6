package main

import "github.com/botgate/botgate/cli"

// show ends a command: see cli.Show.
var show = cli.Show
