package internal_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArchitectureListsEveryPackage keeps docs/ARCHITECTURE.md's package
// list whole: every directory under internal/ and cmd/ that holds Go code
// is named there (as internal/<dir>/ or cmd/<dir>/).
func TestArchitectureListsEveryPackage(t *testing.T) {
	doc, err := os.ReadFile("../docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{"../internal", "../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() || path == "../internal" || path == "../cmd" {
				return err
			}
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			goFiles, _ := filepath.Glob(filepath.Join(path, "*.go"))
			if len(goFiles) == 0 {
				return nil
			}
			name := strings.TrimPrefix(filepath.ToSlash(path), "../")
			if !strings.Contains(string(doc), name+"/") && !strings.Contains(string(doc), name+" ") {
				t.Errorf("docs/ARCHITECTURE.md does not name package %s: add a line on what it serves", name)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
