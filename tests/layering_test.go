package tests

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// layerPackage is what `go list -json` says of a package.
type layerPackage struct {
	ImportPath string
	Imports    []string
	CgoFiles   []string
}

func layerList(t *testing.T) []layerPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = testlib.Root()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []layerPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p layerPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestLayering enforces the dependency direction of DESIGN.md §2: only capi
// uses cgo; the engine imports neither the C side, the MX translation nor
// the OS networking packages; nothing imports capi.
func TestLayering(t *testing.T) {
	const mod = "github.com/open-mx-go/open-mx-go/"
	engineForbidden := []string{
		"C", mod + "capi", mod + "compat", "golang.org/x/sys/unix",
		"github.com/mdlayher/packet", "github.com/mdlayher/socket", "syscall", "os/exec", "net",
	}
	pkgs := layerList(t)
	if len(pkgs) < 4 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(p.ImportPath, mod)
		if len(p.CgoFiles) > 0 && rel != "capi" {
			t.Errorf("%s uses cgo (%v): only capi may import \"C\"", rel, p.CgoFiles)
		}
		for _, imp := range p.Imports {
			if imp == mod+"capi" {
				t.Errorf("%s imports capi", rel)
			}
			if rel == "engine" || (strings.HasPrefix(rel, "engine/") && !strings.HasPrefix(rel, "engine/link/")) {
				for _, bad := range engineForbidden {
					if imp == bad {
						t.Errorf("%s imports %s, which the engine must not use", rel, imp)
					}
				}
			}
		}
	}
}
