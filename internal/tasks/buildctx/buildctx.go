// Package buildctx moves build contexts: Pack writes a directory as a
// gzipped tarball honouring its .dockerignore (as docker build does), and
// Extract unpacks an uploaded tarball into a directory without letting any
// entry escape it.
package buildctx

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Pack writes dir as a gzipped tar to w, leaving out what .dockerignore
// excludes; the Dockerfile and .dockerignore themselves are always sent.
// progress, when not nil, is called with the bytes of file content read.
func Pack(w io.Writer, dir, dockerfile string, progress func(n int64)) error {
	var excludes []string
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		excludes, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return fmt.Errorf(".dockerignore: %w", err)
		}
	}
	pm, err := patternmatcher.New(excludes)
	if err != nil {
		return fmt.Errorf(".dockerignore: %w", err)
	}
	keep := map[string]bool{".dockerignore": true, filepath.ToSlash(filepath.Clean(dockerfile)): true}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !keep[rel] {
			skip, err := pm.MatchesOrParentMatches(rel)
			if err != nil {
				return err
			}
			if skip {
				if d.IsDir() && !pm.Exclusions() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if d.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.Copy(tw, f)
		if progress != nil {
			progress(n)
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// ErrTooLarge is returned when a context unpacks to more than the limit.
var ErrTooLarge = errors.New("build context too large")

// Extract unpacks a tar (gzipped or not) into dir, which must exist. Every
// entry stays inside dir (os.Root refuses paths and links that leave it);
// device files are skipped; the unpacked content may not exceed max bytes.
func Extract(r io.Reader, dir string, max int64) error {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("build context: %w", err)
		}
		defer zr.Close()
		src = zr
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(src)
	var total int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("build context: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if name == "." || name == "/" {
			continue
		}
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("build context: entry %q leaves the context", hdr.Name)
		}
		if d := path.Dir(name); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("build context: %s: %w", hdr.Name, err)
			}
		}
		mode := fs.FileMode(hdr.Mode) & fs.ModePerm
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(name, mode|0o700)
		case tar.TypeReg:
			total += hdr.Size
			if total > max {
				return ErrTooLarge
			}
			var f *os.File
			if f, err = root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode); err == nil {
				_, err = io.Copy(f, io.LimitReader(tr, hdr.Size))
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		case tar.TypeSymlink:
			err = root.Symlink(hdr.Linkname, name)
		case tar.TypeLink:
			err = root.Link(path.Clean(hdr.Linkname), name)
		default:
			continue // devices, fifos: not part of a build context
		}
		if err != nil {
			return fmt.Errorf("build context: %s: %w", hdr.Name, err)
		}
		if hdr.Typeflag != tar.TypeSymlink {
			_ = root.Chtimes(name, hdr.ModTime, hdr.ModTime)
		}
	}
}
