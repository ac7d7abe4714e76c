package nodeinfo

import (
	"fmt"
	"io"
	"strings"
)

// Opt is one option found by Getopt.
type Opt struct {
	Name byte   // option letter
	Arg  string // its argument, for options declared with ':'
}

// Getopt parses args (without the program name) the way glibc getopt(3)
// does for the C tools (spec/tools.md §0.2): optstring lists the option
// letters, a letter followed by ':' takes an argument (glued, "-b1", or the
// next word, "-b 1"); letters may be grouped ("-qv"); "--" ends the
// options; other words are positional arguments and, as with glibc,
// options may follow them. "--help" is accepted as "-h" (when 'h' is in
// optstring).
//
// An unknown option or a missing argument stops the parse: diag is the
// diagnostic glibc prints ("<prog>: invalid option -- 'x'", "<prog>: option
// requires an argument -- 'b'", "<prog>: unrecognized option '--foo'") and
// ok is false.
func Getopt(prog string, args []string, optstring string) (opts []Opt, positional []string, diag string, ok bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return opts, append(positional, args[i+1:]...), "", true
		case a == "--help" && strings.IndexByte(optstring, 'h') >= 0:
			opts = append(opts, Opt{Name: 'h'})
			continue
		case strings.HasPrefix(a, "--"):
			return opts, positional, fmt.Sprintf("%s: unrecognized option '%s'", prog, a), false
		case len(a) < 2 || a[0] != '-':
			positional = append(positional, a)
			continue
		}
	letters:
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(optstring, c)
			if c == ':' || k < 0 {
				return opts, positional, fmt.Sprintf("%s: invalid option -- '%c'", prog, c), false
			}
			if k+1 < len(optstring) && optstring[k+1] == ':' {
				switch {
				case j+1 < len(a):
					opts = append(opts, Opt{Name: c, Arg: a[j+1:]})
				case i+1 < len(args):
					i++
					opts = append(opts, Opt{Name: c, Arg: args[i]})
				default:
					return opts, positional, fmt.Sprintf("%s: option requires an argument -- '%c'", prog, c), false
				}
				break letters
			}
			opts = append(opts, Opt{Name: c})
		}
	}
	return opts, positional, "", true
}

// Atoi converts like C atoi: optional blanks and sign, then the leading
// decimal digits; no digits gives 0 (spec/tools.md §0.2).
func Atoi(s string) int {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		if n > 1<<31 {
			n = 1 << 31
		}
	}
	if neg {
		n = -n
	}
	return int(int32(n))
}

// ParseArgs parses args like Getopt and handles the common cases of the C
// tools (spec/tools.md §0.2): on a bad option it prints getopt's message,
// "Unknown option -?" and the usage on stderr; with -h it prints the usage
// only. In both cases ok is false and the tool exits with status 255.
// The -h option must be declared in optstring.
func ParseArgs(prog string, args []string, optstring string, stderr io.Writer, usage func(io.Writer)) (opts []Opt, positional []string, ok bool) {
	opts, positional, diag, ok := Getopt(prog, args, optstring)
	if !ok {
		fmt.Fprintln(stderr, diag)
		fmt.Fprintln(stderr, "Unknown option -?")
		usage(stderr)
		return nil, nil, false
	}
	for _, o := range opts {
		if o.Name == 'h' {
			usage(stderr)
			return nil, nil, false
		}
	}
	return opts, positional, true
}
