package image

// Removing images and collecting garbage (`docker rmi`, `docker image
// prune`), and `docker image inspect`.
//
// # What keeps a blob alive
//
// Blobs and layer directories are shared: two images built on the same base
// store its layers once. So nothing is deleted because one image goes away;
// a blob is deleted when nothing references it any more. The roots are the
// entries of images/index.json:
//
//   - a tagged entry (annotation org.opencontainers.image.ref.name) is an
//     image with a name, docker's REPOSITORY:TAG;
//   - a dangling entry (no ref name) is an image that lost its last name but
//     that a container may still use, docker's "<none>:<none>". Tag leaves
//     one behind when it moves a tag away from an image (a newer pull of
//     busybox:latest), and so does Untag, and Remove -f of an image in use.
//
// So the index itself is the record of what must be kept: an image only
// leaves it through Remove or Prune, and both first ask the caller which
// image IDs containers use (the inUse callback). From an entry the
// references are followed: manifest -> config and layer blobs, config ->
// diff IDs -> layer directories (and index -> child manifests that are in
// the store). Everything reachable is kept; Remove deletes what the removed
// image alone used, Prune everything else that is unreachable.
//
// # Racing with writers
//
// Import, Load and Pull store blobs first and tag last, so for a while a
// new blob is referenced by nothing. Two rules keep GC from deleting it:
//
//  1. Tag and GC take the same store-wide lock (flock on images/.lock), and
//     Tag checks, under that lock, that every blob of the manifest it tags
//     is in the store. A tag never points at a half-deleted image: the
//     writer either finds its blobs intact or gets an error telling it to
//     fetch them again.
//  2. Prune does not touch a blob or layer directory changed less than
//     GracePeriod (default 10 minutes) ago, judged by the inode's change
//     time (ctime). A new blob or layer directory is young by definition. A
//     writer that reuses an existing one (PutBlob and UnpackLayer find it in
//     place) refreshes that time under the store lock (see reuse in
//     blob.go): either Prune deleted it before, and the writer sees it gone
//     and stores it again, or Prune sees it young. So a pull in progress
//     keeps what it has fetched or found. Only a writer that takes longer
//     than the grace period between storing a blob and tagging can lose
//     it, and rule 1 turns that into an error, not a broken image.
//
// Remove deletes only blobs of the image being removed, right away (docker
// rmi frees the space at once); it does not apply the grace period, and rule
// 1 covers the rare writer that reused one of those blobs at that moment.
//
// Temporary files (.tmp-* in images/ and layers/) are left by crashed
// writers; Prune deletes those older than an hour. Layer directories are
// deleted by renaming them to layers/.tmp-del-* under the lock (atomic, so a
// layer directory is complete or absent) and removing the files after the
// lock is released.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrInUse is wrapped by the error of Remove when a container uses the image
// and force is false. Test for it with errors.Is(err, image.ErrInUse).
var ErrInUse = errors.New("image is in use")

// DefaultGracePeriod is how long Prune leaves a new, unreferenced blob or
// layer directory alone (Store.GracePeriod overrides it).
const DefaultGracePeriod = 10 * time.Minute

// tempMaxAge is the age after which Prune deletes a .tmp-* leftover.
const tempMaxAge = time.Hour

// RemoveReport says what Remove or Prune did, as docker rmi prints it.
type RemoveReport struct {
	// Untagged lists the removed tags, in their short form ("busybox:latest").
	Untagged []string
	// Deleted lists the deleted blobs (for each image: config, i.e. the
	// image ID, then manifest, then layer blobs), followed by the diff IDs
	// of the deleted layer directories.
	Deleted []digest.Digest
	// FreedBytes is the size of the deleted files: blobs, the regular files
	// of the deleted layer directories and deleted temporary files.
	FreedBytes int64
}

// inUseError is the ErrInUse error of Remove, with a message for people.
type inUseError struct{ msg string }

func (e *inUseError) Error() string { return e.msg }
func (e *inUseError) Unwrap() error { return ErrInUse }

// usedImages calls the caller's inUse callback (nil means nothing is used).
func usedImages(inUse func() (map[digest.Digest]bool, error)) (map[digest.Digest]bool, error) {
	if inUse == nil {
		return map[digest.Digest]bool{}, nil
	}
	used, err := inUse()
	if err != nil {
		return nil, err
	}
	if used == nil {
		used = map[digest.Digest]bool{}
	}
	return used, nil
}

// Remove is docker rmi. ref is a tag ("busybox", "busybox:1.36"), a digest
// reference, an image ID or a unique prefix of one.
//
//   - A tag: that tag is removed. If the image has another name, that is
//     all. If it was the last one, the image is deleted: its manifest and
//     config blobs, and every layer blob and layer directory that no other
//     image (tagged or dangling) uses.
//   - An image ID (or a digest reference): every name of that image is
//     removed and the image is deleted. An image with several tags needs
//     force, as in docker ("remove the tags one by one, or use -f").
//
// Before deleting an image, Remove asks inUse for the IDs of the images
// that containers use (called before the store lock is taken; nil means no
// container uses any). An image in use is not deleted: without force
// Remove fails with an error wrapping ErrInUse and changes nothing; with
// force the tags are removed and the image stays, dangling, until the
// container is gone and Prune (or Remove by ID) deletes it — as docker
// keeps an image that a stopped container was created from.
func (s *Store) Remove(ref string, force bool, inUse func() (map[digest.Digest]bool, error)) (RemoveReport, error) {
	var rep RemoveReport
	used, err := usedImages(inUse)
	if err != nil {
		return rep, fmt.Errorf("remove image %s: find out which images containers use: %w", ref, err)
	}

	unlock, err := s.lock()
	if err != nil {
		return rep, err
	}
	var doomedDirs []string // layer dirs renamed away under the lock, removed after it
	defer func() {
		unlock()
		rep.FreedBytes += removeDirs(doomedDirs)
	}()

	idx, err := s.readIndex()
	if err != nil {
		return rep, err
	}
	targets, err := s.removeTargets(idx, ref, force)
	if err != nil {
		return rep, err
	}

	// Split the index into what goes and what stays.
	var remaining, removed []ocispec.Descriptor
	for i, d := range idx.Manifests {
		if targets[i] {
			removed = append(removed, d)
		} else {
			remaining = append(remaining, d)
		}
	}
	remainingIDs := map[digest.Digest]bool{}
	for _, d := range remaining {
		if id, err := s.configDigest(d); err == nil {
			remainingIDs[id] = true
		}
	}
	// An image whose last entry goes away is deleted, unless a container
	// uses it: then it stays as a dangling entry (with force) or Remove
	// refuses (without).
	var deleteManifests []ocispec.Descriptor
	kept := map[digest.Digest]bool{} // manifests kept as dangling entries
	for _, d := range removed {
		id, err := s.configDigest(d)
		if err == nil && !remainingIDs[id] && used[id] {
			if !force {
				name := FamiliarRef(refName(d))
				if name == "" {
					name = id.Encoded()[:12]
				}
				return rep, &inUseError{fmt.Sprintf(
					"image %s (ID %s) is used by a container: remove the container first (minirun ps -a lists them), or use -f to remove the tag and keep the image for the container",
					name, short(id))}
			}
			if !kept[d.Digest] && !hasManifest(remaining, d.Digest) {
				kept[d.Digest] = true
				remaining = append(remaining, dangling(d))
			}
			continue
		}
		if !kept[d.Digest] && !hasManifest(remaining, d.Digest) && !hasManifest(deleteManifests, d.Digest) {
			deleteManifests = append(deleteManifests, d)
		}
	}

	idx.Manifests = remaining
	if err := s.writeIndex(idx); err != nil {
		return rep, fmt.Errorf("remove image %s: %w", ref, err)
	}
	for _, d := range removed {
		if n := refName(d); n != "" {
			rep.Untagged = append(rep.Untagged, FamiliarRef(n))
		}
	}
	if len(deleteManifests) == 0 {
		return rep, nil
	}

	// What the other images use stays.
	keep := newRefSet()
	for _, d := range remaining {
		if err := s.addRefs(d, keep, 0); err != nil {
			return rep, fmt.Errorf("remove image %s: untagged, but its blobs were kept because image %s cannot be read (%w): "+
				"remove that image too, then run prune", ref, entryName(d), err)
		}
	}
	// What the deleted images use, in a stable order for the report.
	doomed := newRefSet()
	for _, d := range deleteManifests {
		// Best effort: a corrupt image still loses what can be read of it;
		// prune finds the rest.
		_ = s.addRefs(d, doomed, 0)
		doomed.add(d.Digest) // at least the manifest itself
	}
	for _, d := range doomed.blobOrder {
		if keep.blobs[d] {
			continue
		}
		n, err := s.deleteBlob(d)
		if err != nil {
			return rep, fmt.Errorf("remove image %s: %w", ref, err)
		}
		if n >= 0 {
			rep.Deleted = append(rep.Deleted, d)
			rep.FreedBytes += n
		}
	}
	for _, id := range doomed.diffIDOrder {
		if keep.diffIDs[id.Encoded()] {
			continue
		}
		tmp, err := s.retireLayerDir(s.layerDir(id))
		if err != nil {
			return rep, fmt.Errorf("remove image %s: %w", ref, err)
		}
		if tmp != "" {
			doomedDirs = append(doomedDirs, tmp)
			rep.Deleted = append(rep.Deleted, id)
		}
	}
	return rep, nil
}

// removeTargets returns the positions in idx.Manifests of the entries
// Remove(ref) takes away.
func (s *Store) removeTargets(idx *ocispec.Index, ref string, force bool) (map[int]bool, error) {
	targets := map[int]bool{}
	// A name with an entry of its own (a tag, or a digest reference stored
	// as such): just that entry. A full image ID is never taken for a name.
	if _, err := digest.Parse(ref); err != nil {
		if name, err := NormalizeRef(ref); err == nil {
			for i, d := range idx.Manifests {
				if refName(d) == name {
					targets[i] = true
				}
			}
			if len(targets) > 0 {
				return targets, nil
			}
		}
	}
	// Otherwise an image: by ID, ID prefix or digest reference.
	entry, _, err := s.find(idx, ref)
	if err != nil {
		return nil, fmt.Errorf("remove image: %w", err)
	}
	id, err := s.configDigest(entry)
	if err != nil {
		return nil, fmt.Errorf("remove image %s: %w", ref, err)
	}
	var names []string
	for i, d := range idx.Manifests {
		if d.Digest == entry.Digest {
			targets[i] = true
		} else if other, err := s.configDigest(d); err == nil && other == id {
			targets[i] = true
		} else {
			continue
		}
		if n := refName(d); n != "" {
			names = append(names, FamiliarRef(n))
		}
	}
	if len(names) > 1 && !force {
		sort.Strings(names)
		return nil, fmt.Errorf("remove image %s: image %s has %d names (%s): remove them one by one, or use -f to remove them all",
			ref, short(id), len(names), strings.Join(names, ", "))
	}
	return targets, nil
}

// Prune is docker image prune plus store repair: it deletes dangling images
// that no container uses (inUse, as for Remove), then every blob and layer
// directory that no remaining image references, and .tmp-* leftovers of
// crashed writers older than an hour. Blobs and layer directories changed
// less than GracePeriod ago are kept (see the top of this file). Prune
// holds the store lock while it decides, so it never races with a tag.
func (s *Store) Prune(inUse func() (map[digest.Digest]bool, error)) (RemoveReport, error) {
	var rep RemoveReport
	used, err := usedImages(inUse)
	if err != nil {
		return rep, fmt.Errorf("prune: find out which images containers use: %w", err)
	}
	now := time.Now()
	if s.clock != nil {
		now = s.clock()
	}
	grace := s.GracePeriod
	if grace <= 0 {
		grace = DefaultGracePeriod
	}
	old := func(fi fs.FileInfo, maxAge time.Duration) bool { return now.Sub(changeTime(fi)) >= maxAge }

	unlock, err := s.lock()
	if err != nil {
		return rep, err
	}
	var doomedDirs []string
	defer func() {
		unlock()
		rep.FreedBytes += removeDirs(doomedDirs)
	}()

	// 1. Dangling images that no container uses leave the index.
	idx, err := s.readIndex()
	if err != nil {
		return rep, err
	}
	var kept []ocispec.Descriptor
	for _, d := range idx.Manifests {
		if refName(d) == "" {
			if id, err := s.configDigest(d); err != nil || !used[id] {
				continue
			}
		}
		kept = append(kept, d)
	}
	if len(kept) != len(idx.Manifests) {
		idx.Manifests = kept
		if err := s.writeIndex(idx); err != nil {
			return rep, fmt.Errorf("prune: %w", err)
		}
	}

	// 2. Everything the remaining images reference.
	live := newRefSet()
	for _, d := range kept {
		if err := s.addRefs(d, live, 0); err != nil {
			return rep, fmt.Errorf("prune: image %s cannot be read (%w), so what it needs is unknown and nothing was deleted: "+
				"remove it (rmi), then prune again", entryName(d), err)
		}
	}

	// 3. Unreferenced blobs.
	blobsDir := filepath.Join(s.imagesDir(), "blobs")
	algs, err := os.ReadDir(blobsDir)
	if err != nil {
		return rep, fmt.Errorf("prune: %w", err)
	}
	for _, alg := range algs {
		if !alg.IsDir() {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(blobsDir, alg.Name()))
		if err != nil {
			return rep, fmt.Errorf("prune: %w", err)
		}
		for _, e := range ents {
			d := digest.NewDigestFromEncoded(digest.Algorithm(alg.Name()), e.Name())
			if d.Validate() != nil || live.blobs[d] {
				continue // not a blob name we know, or in use
			}
			fi, err := os.Lstat(filepath.Join(blobsDir, alg.Name(), e.Name()))
			if err != nil || !old(fi, grace) {
				continue // gone meanwhile, or new: a writer may be about to tag it
			}
			n, err := s.deleteBlob(d)
			if err != nil {
				return rep, fmt.Errorf("prune: %w", err)
			}
			if n >= 0 {
				rep.Deleted = append(rep.Deleted, d)
				rep.FreedBytes += n
			}
		}
	}

	// 4. Unreferenced layer directories and old temporary ones.
	ents, err := os.ReadDir(s.layersDir())
	if err != nil {
		return rep, fmt.Errorf("prune: %w", err)
	}
	for _, e := range ents {
		path := filepath.Join(s.layersDir(), e.Name())
		fi, err := os.Lstat(path)
		if err != nil {
			continue
		}
		if strings.HasPrefix(e.Name(), ".tmp-") {
			if old(fi, tempMaxAge) {
				doomedDirs = append(doomedDirs, path)
			}
			continue
		}
		id := digest.NewDigestFromEncoded(digest.Canonical, e.Name())
		if id.Validate() != nil || live.diffIDs[e.Name()] || !old(fi, grace) {
			continue
		}
		tmp, err := s.retireLayerDir(path)
		if err != nil {
			return rep, fmt.Errorf("prune: %w", err)
		}
		if tmp != "" {
			doomedDirs = append(doomedDirs, tmp)
			rep.Deleted = append(rep.Deleted, id)
		}
	}

	// 5. Old temporary files in images/ (blobs being written, index updates).
	ents, err = os.ReadDir(s.imagesDir())
	if err != nil {
		return rep, fmt.Errorf("prune: %w", err)
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		path := filepath.Join(s.imagesDir(), e.Name())
		fi, err := os.Lstat(path)
		if err != nil || !old(fi, tempMaxAge) {
			continue
		}
		if fi.IsDir() {
			doomedDirs = append(doomedDirs, path)
			continue
		}
		if err := os.Remove(path); err == nil {
			rep.FreedBytes += fi.Size()
		}
	}
	return rep, nil
}

// changeTime is the inode change time (ctime) of fi: when the file was
// created, renamed into place, or touched. Unlike the modification time it
// cannot be set back, and unpacking a layer does not give it the times
// recorded in the tar.
func changeTime(fi fs.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec))
	}
	return fi.ModTime()
}

// deleteBlob deletes one blob and returns its size, or -1 if it was not
// there. The caller holds the lock.
func (s *Store) deleteBlob(d digest.Digest) (int64, error) {
	path := s.BlobPath(d)
	if path == "" {
		return -1, nil
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, nil
	} else if err != nil {
		return 0, fmt.Errorf("delete blob %s: %w", d, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("delete blob %s: %w (check the permissions of %s)", d, err, filepath.Dir(path))
	}
	return fi.Size(), nil
}

// retireLayerDir renames a layer directory to layers/.tmp-del-<random>, so
// that it disappears from its real name at once (the caller holds the lock)
// and its files can be removed later without the lock. Returns the new
// name, or "" if dir did not exist.
func (s *Store) retireLayerDir(dir string) (string, error) {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	// MkdirTemp reserves a unique name; rename(2) replaces an empty
	// directory, so the layer takes the reserved name. (os.Rename refuses
	// to replace a directory, hence syscall.Rename.)
	tmp, err := os.MkdirTemp(s.layersDir(), ".tmp-del-")
	if err != nil {
		return "", fmt.Errorf("delete layer %s: %w", dir, err)
	}
	if err := syscall.Rename(dir, tmp); err != nil {
		os.Remove(tmp)
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("delete layer %s: rename to %s: %w", dir, tmp, err)
	}
	return tmp, nil
}

// removeDirs removes directories (renamed layer dirs and temporary ones)
// and returns the size of the regular files they held. Errors are ignored:
// whatever stays is a .tmp-* name that the next Prune removes.
func removeDirs(dirs []string) int64 {
	var total int64
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					total += fi.Size()
				}
			}
			return nil
		})
		_ = os.RemoveAll(dir)
	}
	return total
}

// refSet collects what images reference: blob digests and diff IDs (the
// latter by their hex, which is the layer directory's name).
type refSet struct {
	blobs       map[digest.Digest]bool
	diffIDs     map[string]bool
	blobOrder   []digest.Digest // first-seen order, for reports
	diffIDOrder []digest.Digest
}

func newRefSet() *refSet {
	return &refSet{blobs: map[digest.Digest]bool{}, diffIDs: map[string]bool{}}
}

func (r *refSet) add(d digest.Digest) {
	if !r.blobs[d] {
		r.blobs[d] = true
		r.blobOrder = append(r.blobOrder, d)
	}
}

func (r *refSet) addDiffID(d digest.Digest) {
	if !r.diffIDs[d.Encoded()] {
		r.diffIDs[d.Encoded()] = true
		r.diffIDOrder = append(r.diffIDOrder, d)
	}
}

// maxIndexDepth bounds how deep addRefs follows indexes of indexes.
const maxIndexDepth = 4

// addRefs adds to r everything the index entry or manifest d references:
// for an image manifest its config, its layer blobs and the diff IDs of its
// layers; for an image index the child manifests that are in the store (an
// index usually lists platforms that were never fetched). The config comes
// first, then the manifest, so that a report starts with the image ID.
func (s *Store) addRefs(d ocispec.Descriptor, r *refSet, depth int) error {
	if isIndexType(d.MediaType) {
		r.add(d.Digest)
		if depth >= maxIndexDepth {
			return fmt.Errorf("index %s: indexes nested more than %d deep", d.Digest, maxIndexDepth)
		}
		data, err := s.readBlob(d.Digest)
		if err != nil {
			return err
		}
		var idx ocispec.Index
		if err := json.Unmarshal(data, &idx); err != nil {
			return fmt.Errorf("index %s: %w", d.Digest, err)
		}
		for _, c := range idx.Manifests {
			if blobStored(s.BlobPath(c.Digest)) {
				if err := s.addRefs(c, r, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	m, err := s.readManifest(d)
	if err != nil {
		return err
	}
	r.add(m.Config.Digest)
	r.add(d.Digest)
	for _, l := range m.Layers {
		r.add(l.Digest)
	}
	data, err := s.readBlob(m.Config.Digest)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// Only the diff IDs matter here; an artifact's config may have none.
	var cfg struct {
		RootFS struct {
			DiffIDs []digest.Digest `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	for _, id := range cfg.RootFS.DiffIDs {
		if id.Validate() == nil {
			r.addDiffID(id)
		}
	}
	return nil
}

// entryName names an index entry in messages: its tag, or its manifest
// digest for a dangling entry.
func entryName(d ocispec.Descriptor) string {
	if n := refName(d); n != "" {
		return FamiliarRef(n)
	}
	return "<untagged> " + string(d.Digest)
}

// AnnotationRepoDigest, on an index entry, is the digest under which a
// registry serves the image (for a multi-platform image, the digest of its
// index rather than of the platform's manifest). A pull may set it in the
// descriptor it tags; Inspect then lists "<repository>@<digest>" among the
// RepoDigests.
const AnnotationRepoDigest = "io.minirun.image.repo-digest"

// InspectInfo is docker image inspect's view of an image (the fields minirun
// can fill in; the JSON names are docker's).
type InspectInfo struct {
	ID          string   `json:"Id"` // image ID: digest of the config
	RepoTags    []string // every tag of the image, short form ("busybox:latest")
	RepoDigests []string // "busybox@sha256:..." where the registry digest is known
	// Created is when the image was built (RFC 3339), "" if unknown.
	Created      string
	Author       string `json:",omitempty"`
	Architecture string
	Variant      string `json:",omitempty"`
	Os           string
	Config       ocispec.ImageConfig // how a container of the image runs
	RootFS       InspectRootFS
	// Size is the size of the layer blobs as stored (usually compressed),
	// as Image.Size.
	Size int64
	// Descriptor is the manifest the information comes from.
	Descriptor ocispec.Descriptor
}

// InspectRootFS lists the image's layers by diff ID, bottom first.
type InspectRootFS struct {
	Type   string
	Layers []digest.Digest `json:",omitempty"`
}

// Inspect returns the docker image inspect view of the image ref names (a
// tag, an image ID or a prefix of one, a digest reference). RepoTags lists
// every tag of the same image ID, not only ref.
func (s *Store) Inspect(ref string) (*InspectInfo, error) {
	idx, entry, img, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	c := img.Config
	info := &InspectInfo{
		ID:           string(img.ID),
		RepoTags:     []string{},
		RepoDigests:  []string{},
		Author:       c.Author,
		Architecture: c.Architecture,
		Variant:      c.Variant,
		Os:           c.OS,
		Config:       c.Config,
		RootFS:       InspectRootFS{Type: c.RootFS.Type, Layers: c.RootFS.DiffIDs},
		Size:         img.Size,
		Descriptor:   ocispec.Descriptor{MediaType: entry.MediaType, Digest: entry.Digest, Size: entry.Size},
	}
	if c.Created != nil {
		info.Created = c.Created.UTC().Format(time.RFC3339Nano)
	}
	if info.Descriptor.MediaType == "" {
		info.Descriptor.MediaType = ocispec.MediaTypeImageManifest
	}
	seen := map[string]bool{}
	for _, d := range idx.Manifests {
		n := refName(d)
		if n == "" {
			continue
		}
		if id, err := s.configDigest(d); err != nil || id != img.ID {
			continue
		}
		named, err := parseNormalizedRef(n)
		if err != nil {
			continue
		}
		if named.digest != "" {
			info.RepoDigests = appendNew(info.RepoDigests, seen, named.familiar())
			continue
		}
		info.RepoTags = appendNew(info.RepoTags, seen, named.familiar())
		if rd, err := digest.Parse(d.Annotations[AnnotationRepoDigest]); err == nil {
			if c, err := named.repository().withDigest(rd); err == nil {
				info.RepoDigests = appendNew(info.RepoDigests, seen, c.familiar())
			}
		}
	}
	sort.Strings(info.RepoTags)
	sort.Strings(info.RepoDigests)
	return info, nil
}

func appendNew(list []string, seen map[string]bool, s string) []string {
	if seen[s] {
		return list
	}
	seen[s] = true
	return append(list, s)
}
