package main

import (
	"fmt"
	"strings"
)

// invocation is what the wrapper needs to know about a runc command line.
type invocation struct {
	subcommand string
	// bundle is the bundle directory whose config.json runc will read; set
	// only for create and run, "." when no bundle flag was given because runc
	// then reads config.json from its working directory, which is ours.
	bundle string
	// process is the process file of "runc exec --process", if any.
	process string
}

// Flags that take a separate value. runc parses with urfave/cli v1 on top of
// the standard flag package, so any flag not listed here is assumed to be a
// boolean: an unknown value flag would then be misread, at worst leaving the
// files unpatched and runc failing exactly as it would without the wrapper.
var (
	globalValueFlags = set("log", "log-format", "root", "criu", "rootless")
	createValueFlags = set("bundle", "b", "console-socket", "pidfd-socket", "pid-file", "preserve-fds")
	execValueFlags   = set("console-socket", "pidfd-socket", "cwd", "env", "e", "user", "u",
		"additional-gids", "g", "process", "p", "pid-file", "process-label", "apparmor",
		"cap", "c", "preserve-fds", "cgroup")
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// parseArgs finds the subcommand, bundle and process file in runc's
// arguments (without argv[0]). It follows the standard flag package's
// syntax: one or two dashes, values either after "=" or in the next argument,
// and "--" ending the flags.
func parseArgs(args []string) (invocation, error) {
	var inv invocation
	i := 0
	for ; i < len(args); i++ {
		name, _, hasValue, isFlag := splitFlag(args[i])
		if !isFlag {
			if args[i] == "--" {
				i++
				if i < len(args) {
					inv.subcommand = args[i]
				}
			} else {
				inv.subcommand = args[i]
			}
			break
		}
		if globalValueFlags[name] && !hasValue {
			if i+1 >= len(args) {
				return inv, fmt.Errorf("flag --%s needs a value", name)
			}
			i++
		}
	}
	rest := args[min(i+1, len(args)):]

	var valueFlags map[string]bool
	// urfave/cli v1 moves flags given after the container id in front of it
	// for create and run, but exec disables that reordering because the
	// command to run follows the container id and has flags of its own.
	stopAtPositional := false
	switch inv.subcommand {
	case "create", "run":
		valueFlags = createValueFlags
		inv.bundle = "."
	case "exec":
		valueFlags = execValueFlags
		stopAtPositional = true
	default:
		return inv, nil
	}
	for j := 0; j < len(rest); j++ {
		if rest[j] == "--" {
			break
		}
		name, value, hasValue, isFlag := splitFlag(rest[j])
		if !isFlag {
			if stopAtPositional {
				break
			}
			continue
		}
		if !valueFlags[name] {
			continue
		}
		if !hasValue {
			if j+1 >= len(rest) {
				return inv, fmt.Errorf("flag --%s needs a value", name)
			}
			j++
			value = rest[j]
		}
		// Later occurrences win, as with the flag package.
		switch name {
		case "bundle", "b":
			if inv.subcommand != "exec" {
				inv.bundle = value
				if value == "" {
					// runc treats an empty bundle like an absent one.
					inv.bundle = "."
				}
			}
		case "process", "p":
			if inv.subcommand == "exec" {
				inv.process = value
			}
		}
	}
	return inv, nil
}

// splitFlag takes one argument apart. "-" alone and "--" are not flags.
func splitFlag(arg string) (name, value string, hasValue, isFlag bool) {
	if len(arg) < 2 || arg[0] != '-' || arg == "--" {
		return "", "", false, false
	}
	name = strings.TrimPrefix(arg[1:], "-")
	name, value, hasValue = strings.Cut(name, "=")
	return name, value, hasValue, true
}
