package buildctx

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for n, c := range files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestPackHonoursDockerignore: excluded files and directories stay home,
// exceptions (!) come back, the Dockerfile and .dockerignore always go.
func TestPackHonoursDockerignore(t *testing.T) {
	tests := []struct {
		name   string
		ignore string
		want   []string
	}{
		{"nothing ignored", "", []string{".dockerignore", "Dockerfile", "a.txt", "logs/x.log", "src/main.go", "src/main_test.go"}},
		{"dir and glob", "logs\n**/*_test.go\n", []string{".dockerignore", "Dockerfile", "a.txt", "src/main.go"}},
		{"everything but", "*\n!src/main.go\n", []string{".dockerignore", "Dockerfile", "src/main.go"}},
		{"dockerfile listed", "Dockerfile\n.dockerignore\n", []string{".dockerignore", "Dockerfile", "a.txt", "logs/x.log", "src/main.go", "src/main_test.go"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			write(t, src, map[string]string{"Dockerfile": "FROM x\n", "a.txt": "a", "logs/x.log": "l", "src/main.go": "m",
				"src/main_test.go": "t", ".dockerignore": tc.ignore})
			var buf bytes.Buffer
			if err := Pack(&buf, src, "Dockerfile", nil); err != nil {
				t.Fatal(err)
			}
			dst := t.TempDir()
			if err := Extract(&buf, dst, 1<<20); err != nil {
				t.Fatal(err)
			}
			got := listFiles(t, dst)
			if len(got) != len(tc.want) {
				t.Fatalf("files %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("files %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func tarOf(t *testing.T, entries ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		body := []byte("x")
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(body)
		}
	}
	tw.Close()
	return buf.Bytes()
}

// TestExtractStaysInside: no entry, link or path through a link escapes
// the directory.
func TestExtractStaysInside(t *testing.T) {
	reg := func(name string) tar.Header { return tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644} }
	tests := []struct {
		name    string
		entries []tar.Header
	}{
		{"dot-dot", []tar.Header{reg("../escape")}},
		{"nested dot-dot", []tar.Header{reg("a/../../escape")}},
		{"absolute", []tar.Header{reg("/escape")}},
		{"through a symlink", []tar.Header{{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "../.."}, reg("link/escape")}},
		{"through an absolute symlink", []tar.Header{{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/tmp"}, reg("link/escape")}},
		{"hard link out", []tar.Header{{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "ctx")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			err := Extract(bytes.NewReader(tarOf(t, tc.entries...)), dir, 1<<20)
			if err == nil {
				t.Fatalf("extract succeeded")
			}
			if _, err := os.Stat(filepath.Join(parent, "escape")); err == nil {
				t.Fatalf("a file escaped the directory")
			}
		})
	}
}

// TestExtractLimit: a context larger than the limit is refused.
func TestExtractLimit(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 100, Mode: 0o644})
	tw.Write(make([]byte, 100))
	tw.Close()
	if err := Extract(&buf, t.TempDir(), 50); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

// FuzzExtract: any input gives an error or files inside the directory, never a panic.
func FuzzExtract(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b, 0, 0})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "a/b", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644})
	tw.Write([]byte("x"))
	tw.WriteHeader(&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../x"})
	tw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "ctx")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		_ = Extract(bytes.NewReader(b), dir, 1<<20)
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 {
			t.Fatalf("entries outside the directory: %v", entries)
		}
	})
}
