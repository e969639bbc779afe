package fs

const wbChunkForTest = wbChunk
