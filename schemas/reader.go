package schemas

import (
	"container/list"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/parquet-go/parquet-go"
)

// TraceSet reads a trace set. Requests and sessions are streamed; blobs are
// fetched by id through an index of ids (8 bytes per blob plus map overhead)
// and a byte-bounded cache of decoded row groups, so memory stays bounded
// however large the set. Generated blobs (stored as a Recipe) are cached as
// their recipe and rebuilt when read. Methods are safe for concurrent use.
type TraceSet struct {
	Dir string

	sessF, reqF, blobF    *os.File
	sessPF, reqPF, blobPF *parquet.File

	mu        sync.Mutex
	index     map[int64]uint32 // blob id → row group
	cache     map[uint32]*list.Element
	lru       *list.List // of *blobGroup, most recent first
	cacheSize int64
	cacheCap  int64
}

type blobGroup struct {
	index uint32
	blobs map[int64]*Blob
	// recipes holds the parsed recipes of the group's generated blobs.
	recipes map[int64]Recipe
	bytes   int64
}

// blobRowBytes is the memory a cached blob row costs besides its strings
// (the Blob, its map entry and its share of the row slice), for the cache
// bound.
const blobRowBytes = 128

// TraceSetOptions configures OpenTraceSet.
type TraceSetOptions struct {
	// BlobCacheBytes bounds the decoded blob bodies kept in memory; 0 means
	// 256 MiB.
	BlobCacheBytes int64
}

// OpenTraceSet opens the trace set in dir, checking that all three files
// are present, readable agentperf files of a supported version with the
// expected columns.
func OpenTraceSet(dir string, opt TraceSetOptions) (*TraceSet, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory; a trace set is a directory holding %s, %s and %s", dir, SessionsFile, RequestsFile, BlobsFile)
	}
	t := &TraceSet{Dir: dir, cache: map[uint32]*list.Element{}, lru: list.New(), cacheCap: opt.BlobCacheBytes}
	if t.cacheCap <= 0 {
		t.cacheCap = 256 << 20
	}
	type spec struct {
		name, kind string
		schema     *parquet.Schema
		f          **os.File
		pf         **parquet.File
	}
	for _, s := range []spec{
		{SessionsFile, FileSessions, parquet.SchemaOf(Session{}), &t.sessF, &t.sessPF},
		{RequestsFile, FileRequests, parquet.SchemaOf(Request{}), &t.reqF, &t.reqPF},
		{BlobsFile, FileBlobs, parquet.SchemaOf(Blob{}), &t.blobF, &t.blobPF},
	} {
		path := filepath.Join(dir, s.name)
		f, pf, err := openParquet(path, s.kind)
		if err != nil {
			t.Close()
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%s: missing; is %s a trace set (made by agentperf synth, import or record)?", path, dir)
			}
			return nil, err
		}
		*s.f, *s.pf = f, pf
		if err := checkColumns(path, pf, s.schema); err != nil {
			t.Close()
			return nil, err
		}
	}
	return t, nil
}

// Close releases the files.
func (t *TraceSet) Close() error {
	for _, f := range []*os.File{t.sessF, t.reqF, t.blobF} {
		if f != nil {
			f.Close()
		}
	}
	return nil
}

// NumRequests returns the number of requests.
func (t *TraceSet) NumRequests() int64 { return t.reqPF.NumRows() }

// NumSessions returns the number of sessions.
func (t *TraceSet) NumSessions() int64 { return t.sessPF.NumRows() }

// NumBlobs returns the number of distinct blobs.
func (t *TraceSet) NumBlobs() int64 { return t.blobPF.NumRows() }

// Sessions calls fn for every session in file order.
func (t *TraceSet) Sessions(fn func(*Session) error) error {
	return eachRow(filepath.Join(t.Dir, SessionsFile), t.sessPF, fn)
}

// Requests calls fn for every request in file order. The row passed to fn
// is reused after fn returns.
func (t *TraceSet) Requests(fn func(*Request) error) error {
	return eachRow(filepath.Join(t.Dir, RequestsFile), t.reqPF, fn)
}

// eachRow streams the rows of pf through fn, one row group at a time,
// turning reader panics on corrupt data into errors.
func eachRow[T any](path string, pf *parquet.File, fn func(*T) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = formatErr(path, "corrupt data: %v", r)
		}
	}()
	buf := make([]T, 128)
	for _, rg := range pf.RowGroups() {
		r := parquet.NewGenericRowGroupReader[T](rg)
		for {
			n, rerr := r.Read(buf)
			for i := 0; i < n; i++ {
				if err := fn(&buf[i]); err != nil {
					r.Close()
					return err
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				r.Close()
				return formatErr(path, "reading rows: %v", rerr)
			}
		}
		r.Close()
	}
	return nil
}

// Blob returns the blob with the given id, its Body rebuilt when it is
// generated (Recipe set). The returned value must not be modified.
func (t *TraceSet) Blob(id int64) (*Blob, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	bg, b, err := t.lookup(id)
	if err != nil {
		return nil, err
	}
	if b.Body == "" && b.Recipe != "" {
		b.Body = string(bg.recipes[id].AppendBody(nil))
		bg.bytes += int64(len(b.Body))
		t.cacheSize += int64(len(b.Body))
		t.evict()
	}
	return b, nil
}

// Parts appends the prompt parts of the blobs ids (a Request's Prompt) to
// dst, in order, for Rebuild. A generated blob's part carries its Recipe
// and no Body, so nothing is generated until Rebuild writes the body; a
// stored blob's Body shares memory with the blob cache and must not be
// modified. Memory is the blob cache (TraceSetOptions.BlobCacheBytes)
// whatever the set's size, plus dst. Safe for concurrent use.
//
// This is the on-demand path for a sender such as replay: keep each
// turn's Prompt ids (8 bytes a blob) instead of its resolved parts, and
// when the turn is about to be sent call Parts into the user's scratch
// slice and Rebuild into the user's reused body buffer, so a body exists
// only while its request is in flight. A part that is changed before
// sending (a cache salt on its text) is read with Part.Bytes, and the
// changed bytes set as its Body, which Rebuild prefers to the Recipe.
func (t *TraceSet) Parts(dst []Part, ids []int64) ([]Part, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		bg, b, err := t.lookup(id)
		if err != nil {
			return dst, err
		}
		p := Part{Kind: b.Kind, Tokens: int(b.Tokens)}
		if b.Body == "" && b.Recipe != "" {
			p.Recipe = bg.recipes[id]
		} else {
			// Rebuild only reads the bytes: share the string's memory.
			p.Body = unsafe.Slice(unsafe.StringData(b.Body), len(b.Body))
		}
		dst = append(dst, p)
	}
	return dst, nil
}

// HasBlob reports whether the trace set holds a blob with the given id. It
// reads only the id index (built on first use, 8 bytes a blob), no blob
// body, so a reader can check a request's references without loading them.
func (t *TraceSet) HasBlob(id int64) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.index == nil {
		if err := t.buildIndex(); err != nil {
			return false, err
		}
	}
	_, ok := t.index[id]
	return ok, nil
}

// lookup returns the cached row group holding blob id, and the blob, loading
// the group when it is not cached. The caller holds t.mu.
func (t *TraceSet) lookup(id int64) (*blobGroup, *Blob, error) {
	if t.index == nil {
		if err := t.buildIndex(); err != nil {
			return nil, nil, err
		}
	}
	g, ok := t.index[id]
	if !ok {
		return nil, nil, formatErr(filepath.Join(t.Dir, BlobsFile), "no blob with id %d (referenced by a request)", id)
	}
	if e, ok := t.cache[g]; ok {
		t.lru.MoveToFront(e)
		bg := e.Value.(*blobGroup)
		return bg, bg.blobs[id], nil
	}
	bg, err := t.loadGroup(g)
	if err != nil {
		return nil, nil, err
	}
	t.cache[g] = t.lru.PushFront(bg)
	t.cacheSize += bg.bytes
	t.evict()
	return bg, bg.blobs[id], nil
}

// evict drops least recently used groups while the cache is over its
// bound, keeping the most recent one. The caller holds t.mu.
func (t *TraceSet) evict() {
	for t.cacheSize > t.cacheCap && t.lru.Len() > 1 {
		old := t.lru.Remove(t.lru.Back()).(*blobGroup)
		delete(t.cache, old.index)
		t.cacheSize -= old.bytes
	}
}

type blobID struct {
	ID int64 `parquet:"id"`
}

func (t *TraceSet) buildIndex() (err error) {
	path := filepath.Join(t.Dir, BlobsFile)
	defer func() {
		if r := recover(); r != nil {
			err = formatErr(path, "corrupt data: %v", r)
		}
	}()
	t.index = make(map[int64]uint32, t.blobPF.NumRows())
	buf := make([]blobID, 1024)
	for gi, rg := range t.blobPF.RowGroups() {
		r := parquet.NewGenericRowGroupReader[blobID](rg)
		for {
			n, rerr := r.Read(buf)
			for _, b := range buf[:n] {
				t.index[b.ID] = uint32(gi)
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				r.Close()
				t.index = nil
				return formatErr(path, "reading blob ids: %v", rerr)
			}
		}
		r.Close()
	}
	return nil
}

func (t *TraceSet) loadGroup(g uint32) (bg *blobGroup, err error) {
	path := filepath.Join(t.Dir, BlobsFile)
	defer func() {
		if r := recover(); r != nil {
			err = formatErr(path, "corrupt data: %v", r)
		}
	}()
	rg := t.blobPF.RowGroups()[g]
	rows := make([]Blob, rg.NumRows())
	r := parquet.NewGenericRowGroupReader[Blob](rg)
	defer r.Close()
	n, rerr := r.Read(rows)
	if rerr != nil && rerr != io.EOF {
		return nil, formatErr(path, "reading blobs: %v", rerr)
	}
	bg = &blobGroup{index: g, blobs: make(map[int64]*Blob, n)}
	for i := range rows[:n] {
		b := &rows[i]
		bg.blobs[b.ID] = b
		bg.bytes += int64(len(b.Body)+len(b.Recipe)) + blobRowBytes
		if b.Recipe == "" {
			continue
		}
		r, err := ParseRecipe(b.Recipe)
		if err != nil {
			return nil, formatErr(path, "blob %d: %v", b.ID, err)
		}
		if bg.recipes == nil {
			bg.recipes = map[int64]Recipe{}
		}
		bg.recipes[b.ID] = r
	}
	return bg, nil
}

// Body rebuilds the request body of r and appends it to dst, generating
// the bytes of generated blobs in place (see Parts).
func (t *TraceSet) Body(dst []byte, r *Request) ([]byte, error) {
	parts, err := t.Parts(make([]Part, 0, len(r.Prompt)), r.Prompt)
	if err != nil {
		return dst, err
	}
	return Rebuild(dst, r.API, []byte(r.Params), parts), nil
}

// Blobs calls fn for every blob in file order, the Body of a generated blob
// rebuilt from its Recipe.
func (t *TraceSet) Blobs(fn func(*Blob) error) error {
	path := filepath.Join(t.Dir, BlobsFile)
	var body []byte
	return eachRow(path, t.blobPF, func(b *Blob) error {
		if b.Recipe != "" && b.Body == "" {
			r, err := ParseRecipe(b.Recipe)
			if err != nil {
				return formatErr(path, "blob %d: %v", b.ID, err)
			}
			body = r.AppendBody(body[:0])
			b.Body = string(body)
		}
		return fn(b)
	})
}

// Size returns the bytes on disk of the three files.
func (t *TraceSet) Size() int64 { return t.sessPF.Size() + t.reqPF.Size() + t.blobPF.Size() }
