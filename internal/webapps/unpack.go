package webapps

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// applyLayer extracts one image layer (an uncompressed tar stream) over
// the tree in root, following the OCI layer rules: ".wh.<name>" deletes
// <name> from lower layers, ".wh..wh..opq" empties its directory of what
// lower layers put there. Every path is resolved inside root (os.Root), so
// no entry, symlinked directory or hard link can write outside it. Device
// nodes are skipped.
// https://github.com/opencontainers/image-spec/blob/main/layer.md
func applyLayer(root *os.Root, r io.Reader) error {
	tr := tar.NewReader(r)
	written := map[string]bool{} // paths this layer created, kept by an opaque whiteout
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("layer: %w", err)
		}
		name := path.Clean("/" + h.Name)[1:]
		if name == "" {
			continue
		}
		dir, base := path.Split(name)
		dir = strings.TrimSuffix(dir, "/")
		if dir == "" {
			dir = "."
		}
		switch {
		case base == ".wh..wh..opq":
			if err := emptyDir(root, dir, written); err != nil {
				return err
			}
			continue
		case strings.HasPrefix(base, ".wh."):
			if err := root.RemoveAll(path.Join(dir, strings.TrimPrefix(base, ".wh."))); err != nil {
				return fmt.Errorf("layer: whiteout %s: %w", name, err)
			}
			continue
		}
		if dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("layer: %s: %w", name, err)
			}
		}
		written[name] = true
		if err := applyEntry(root, tr, h, name); err != nil {
			return fmt.Errorf("layer: %s: %w", name, err)
		}
	}
}

func applyEntry(root *os.Root, tr io.Reader, h *tar.Header, name string) error {
	mode := fs.FileMode(h.Mode) & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if fi, err := root.Lstat(name); err == nil && !(fi.IsDir() && h.Typeflag == tar.TypeDir) {
		if err := root.RemoveAll(name); err != nil {
			return err
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if err := root.MkdirAll(name, 0o755); err != nil {
			return err
		}
	case tar.TypeReg:
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	case tar.TypeSymlink:
		return lchown(root.Symlink(h.Linkname, name), root, name, h)
	case tar.TypeLink:
		target := path.Clean("/" + h.Linkname)[1:]
		return root.Link(target, name)
	default: // devices, FIFOs: not needed by web apps
		return nil
	}
	if err := lchown(nil, root, name, h); err != nil {
		return err
	}
	return root.Chmod(name, mode)
}

func lchown(err error, root *os.Root, name string, h *tar.Header) error {
	if err != nil {
		return err
	}
	return root.Lchown(name, h.Uid, h.Gid)
}

// emptyDir removes what dir holds except the entries keep names.
func emptyDir(root *os.Root, dir string, keep map[string]bool) error {
	f, err := root.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		p := path.Join(dir, n)
		if !keep[p] {
			if err := root.RemoveAll(p); err != nil {
				return err
			}
		}
	}
	return nil
}
