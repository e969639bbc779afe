package webapps

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

type entry struct {
	name, body, link string
	typ              byte
}

func layer(t testing.TB, es ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if h.Typeflag == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tree lists the files of dir as "path" or "path=content" (regular files) or "path->target".
func tree(t *testing.T, dir string) string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if p == dir || err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out = append(out, rel+"->"+l)
		case d.Type().IsRegular():
			b, _ := os.ReadFile(p)
			out = append(out, rel+"="+string(b))
		default:
			out = append(out, rel+"/")
		}
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestApplyLayer(t *testing.T) {
	base := []entry{{name: "etc/", typ: tar.TypeDir}, {name: "etc/a", body: "1"}, {name: "etc/b", body: "2"},
		{name: "var/", typ: tar.TypeDir}, {name: "var/x", body: "x"}, {name: "bin/", typ: tar.TypeDir}, {name: "bin/sh", body: "sh"}}
	for _, tc := range []struct {
		name  string
		upper []entry
		want  string
		err   bool
	}{
		{name: "whiteout", upper: []entry{{name: "etc/.wh.a", body: ""}},
			want: "bin/ bin/sh=sh etc/ etc/b=2 var/ var/x=x"},
		{name: "opaque directory keeps this layer's files", upper: []entry{{name: "etc/c", body: "3"}, {name: "etc/.wh..wh..opq"}},
			want: "bin/ bin/sh=sh etc/ etc/c=3 var/ var/x=x"},
		{name: "a file replaces a directory", upper: []entry{{name: "var", body: "file"}},
			want: "bin/ bin/sh=sh etc/ etc/a=1 etc/b=2 var=file"},
		{name: "symlink and hard link", upper: []entry{{name: "bin/busybox", body: "bb"}, {name: "bin/ls", typ: tar.TypeSymlink, link: "busybox"},
			{name: "bin/cat", typ: tar.TypeLink, link: "bin/busybox"}},
			want: "bin/ bin/busybox=bb bin/cat=bb bin/ls->busybox bin/sh=sh etc/ etc/a=1 etc/b=2 var/ var/x=x"},
		{name: "dot-dot stays inside", upper: []entry{{name: "../../escape", body: "no"}},
			want: "bin/ bin/sh=sh escape=no etc/ etc/a=1 etc/b=2 var/ var/x=x"},
		{name: "no writing through a symlink to outside", upper: []entry{{name: "out", typ: tar.TypeSymlink, link: "/tmp"}, {name: "out/pwned", body: "x"}},
			err: true},
		{name: "no hard link to outside", upper: []entry{{name: "l", typ: tar.TypeLink, link: "../../../etc/passwd"}}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			if err := applyLayer(root, bytes.NewReader(layer(t, base...))); err != nil {
				t.Fatal(err)
			}
			err = applyLayer(root, bytes.NewReader(layer(t, tc.upper...)))
			if tc.err {
				if err == nil {
					t.Fatalf("applied; want an error; tree: %s", tree(t, dir))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tree(t, dir); got != tc.want {
				t.Errorf("tree:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestParseImageRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ImageRef
		bad  bool
	}{
		{in: "acre.localhost:5000/shop:v1", want: ImageRef{"acre.localhost:5000", "shop", "v1"}},
		{in: "127.0.0.1:5000/team/app", want: ImageRef{"127.0.0.1:5000", "team/app", "latest"}},
		{in: "localhost/app@sha256:abc", want: ImageRef{"localhost", "app", "sha256:abc"}},
		{in: "nginx:latest", bad: true},
		{in: "library/nginx", bad: true},
		{in: "host.io/", bad: true},
	} {
		got, err := ParseImageRef(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseImageRef(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func FuzzParseImageRef(f *testing.F) {
	for _, s := range []string{"acre.localhost:5000/shop:v1", "h:1/a/b@sha256:00", "localhost/x", "a.b/c:d:e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseImageRef(s)
		if err == nil && (r.Host == "" || r.Repository == "" || r.Reference == "") {
			t.Fatalf("%q: incomplete %+v", s, r)
		}
	})
}

func FuzzParseChallenge(f *testing.F) {
	f.Add(`realm="https://a/oauth2/token",service="a",scope="repository:x:pull"`)
	f.Add(`realm=x,service=y`)
	f.Add(`realm="unterminated`)
	f.Fuzz(func(t *testing.T, s string) { _ = parseChallenge(s) })
}

func FuzzApplyLayer(f *testing.F) {
	f.Add(layer(f, entry{name: "a/b", body: "x"}, entry{name: "a/.wh.b"}, entry{name: "l", typ: tar.TypeSymlink, link: "/"}))
	f.Add(layer(f, entry{name: "d/", typ: tar.TypeDir}, entry{name: "d/.wh..wh..opq"}, entry{name: "h", typ: tar.TypeLink, link: "d"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		outer := t.TempDir()
		dir := filepath.Join(outer, "root")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		_ = applyLayer(root, bytes.NewReader(b))
		ents, _ := os.ReadDir(outer)
		if len(ents) != 1 {
			t.Fatalf("the layer wrote outside its root: %v", ents)
		}
	})
}
