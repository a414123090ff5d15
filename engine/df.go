package engine

import (
	"io/fs"
	"os"
	"path/filepath"
)

// DiskUsage is one row of `system df`.
type DiskUsage struct {
	Type        string `json:"Type"`
	Total       int    `json:"TotalCount"`
	Active      int    `json:"Active"`
	Size        int64  `json:"Size"`
	Reclaimable int64  `json:"Reclaimable"`
}

// DiskUsage is `minirun system df`: images (what running or stopped
// containers use is active), containers (their writable layers; stopped
// ones are reclaimable) and volumes (named volumes no container uses are
// reclaimable).
func (e *Engine) DiskUsage() ([]DiskUsage, error) {
	ms, err := e.metas()
	if err != nil {
		return nil, err
	}
	imgRow := DiskUsage{Type: "Images"}
	if store, err := e.Images(); err == nil {
		imgs, err := store.List()
		if err != nil {
			return nil, err
		}
		used := map[string]bool{}
		for _, m := range ms {
			used[m.ImageID] = true
		}
		for _, img := range imgs {
			imgRow.Total++
			imgRow.Size += img.Size
			if used[img.ID.String()] {
				imgRow.Active++
			} else {
				imgRow.Reclaimable += img.Size
			}
		}
	}
	ctrRow := DiskUsage{Type: "Containers"}
	volUsers := map[string]bool{}
	for _, m := range ms {
		ctrRow.Total++
		size := treeSize(filepath.Join(e.containerDataDir(m.ID), "upper"))
		ctrRow.Size += size
		if e.alive(m.ID) {
			ctrRow.Active++
		} else {
			ctrRow.Reclaimable += size
		}
		for _, mp := range m.Mounts {
			if mp.Type == "volume" {
				volUsers[mp.Name] = true
			}
		}
	}
	volRow := DiskUsage{Type: "Local Volumes"}
	ents, _ := os.ReadDir(filepath.Join(e.DataRoot, "volumes"))
	for _, ent := range ents {
		if !ent.IsDir() {
			continue
		}
		volRow.Total++
		size := treeSize(filepath.Join(e.DataRoot, "volumes", ent.Name()))
		volRow.Size += size
		if volUsers[ent.Name()] {
			volRow.Active++
		} else {
			volRow.Reclaimable += size
		}
	}
	return []DiskUsage{imgRow, ctrRow, volRow}, nil
}

// treeSize adds up the sizes of the regular files below dir.
func treeSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
