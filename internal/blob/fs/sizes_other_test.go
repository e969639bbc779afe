//go:build !linux

package fs

const wbChunkForTest = 8 << 20
