package engine

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/minirun/minirun/container"
)

// State is a container's state as `inspect` shows it (Docker's
// .State), derived from the kernel first and from run.json second.
type State struct {
	Status       string    `json:"Status"` // created, running, paused, restarting, exited
	Running      bool      `json:"Running"`
	Paused       bool      `json:"Paused"`
	Restarting   bool      `json:"Restarting"`
	OOMKilled    bool      `json:"OOMKilled"`
	Dead         bool      `json:"Dead"`
	Pid          int       `json:"Pid"`
	ExitCode     int       `json:"ExitCode"`
	Error        string    `json:"Error"`
	StartedAt    time.Time `json:"StartedAt"`
	FinishedAt   time.Time `json:"FinishedAt"`
	RestartCount int       `json:"-"`
	MonitorPid   int       `json:"MonitorPid"` // minirun's: 0 when no monitor runs
	// State is the status for messages.
	State string `json:"-"`
}

// status derives a container's state: is its init alive (the kernel
// says), is its monitor alive, and what did the monitor record.
func (e *Engine) status(m Meta) State {
	rs := e.readRunState(m.ID)
	monitor := processAlive(rs.MonitorPid, rs.MonitorStart)
	c, err := e.Runtime.Load(m.ID)
	var cs container.State
	if err == nil {
		cs = c.State()
	}
	stopped := err != nil || (cs.Status != container.Running && cs.Status != container.Paused && cs.Status != container.Created)
	if stopped && monitor && !rs.StartedAt.IsZero() && rs.FinishedAt.Before(rs.StartedAt) && !rs.Restarting {
		// Init has just ended and its monitor, alive, has not recorded
		// how yet: it does within milliseconds, and until then the exit
		// code is not known. Wait for the record (as Docker shows a
		// container running until its daemon has the exit), not for
		// long: a monitor that records nothing is killed or stuck.
		for end := time.Now().Add(time.Second); time.Now().Before(end); {
			time.Sleep(2 * time.Millisecond)
			rs = e.readRunState(m.ID)
			if !rs.FinishedAt.Before(rs.StartedAt) || rs.Restarting {
				break
			}
			if monitor = processAlive(rs.MonitorPid, rs.MonitorStart); !monitor {
				break
			}
		}
	}
	st := State{StartedAt: rs.StartedAt, FinishedAt: rs.FinishedAt, ExitCode: rs.ExitCode, OOMKilled: rs.OOMKilled,
		Error: rs.Error, RestartCount: rs.RestartCount}
	if monitor {
		st.MonitorPid = rs.MonitorPid
	}
	switch {
	case err == nil && cs.Status == container.Running:
		st.Status, st.Running, st.Pid = "running", true, cs.Pid
	case err == nil && cs.Status == container.Paused:
		st.Status, st.Running, st.Paused, st.Pid = "paused", true, true, cs.Pid
	case err == nil && cs.Status == container.Created:
		st.Status, st.Pid = "created", cs.Pid
	case rs.Restarting && st.MonitorPid != 0:
		st.Status, st.Restarting = "restarting", true
	case rs.StartedAt.IsZero():
		st.Status = "created"
	default:
		st.Status = "exited"
		if rs.FinishedAt.Before(rs.StartedAt) {
			// Init is gone and nobody recorded how: its monitor was killed.
			st.ExitCode, st.FinishedAt = -1, time.Time{}
			if st.MonitorPid == 0 {
				st.Error = "the container's monitor was killed: exit code unknown"
			}
		}
	}
	if !st.Running {
		st.Pid = 0
	}
	st.State = st.Status
	return st
}

// Summary is one row of `ps`, with Docker's field names for --format.
type Summary struct {
	ID      string    `json:"ID"`
	Image   string    `json:"Image"`
	Command string    `json:"Command"`
	Created time.Time `json:"CreatedAt"`
	Status  string    `json:"Status"`
	State   string    `json:"State"`
	Ports   string    `json:"Ports"`
	Names   string    `json:"Names"`
}

// List is `minirun ps`: running containers, or all with all.
func (e *Engine) List(all bool) ([]Summary, error) {
	ms, err := e.metas()
	if err != nil {
		return nil, err
	}
	ports := e.publishedPorts()
	var out []Summary
	for _, m := range ms {
		st := e.status(m)
		if !all && !st.Running && !st.Restarting {
			continue
		}
		s := Summary{ID: m.ID, Image: m.Image, Command: quoteCommand(m.Command), Created: m.Created,
			Status: humanStatus(st), State: st.Status, Names: m.Name}
		if st.Running {
			s.Ports = ports[m.ID]
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// publishedPorts reads the resolved ports of every container on a
// network, as Docker's PORTS column shows them.
func (e *Engine) publishedPorts() map[string]string {
	out := map[string]string{}
	if Rootless() {
		return e.slirpPorts()
	}
	t := &endpointTable{}
	if readEndpoints(e, t) != nil {
		return out
	}
	for id, c := range t.Containers {
		var ps []string
		for _, p := range c.Ports {
			ps = append(ps, p.String())
		}
		out[id] = strings.Join(ps, ", ")
	}
	return out
}

func quoteCommand(args []string) string {
	return `"` + strings.Join(args, " ") + `"`
}

// humanStatus is Docker's STATUS column: "Up 5 minutes", "Exited (0) 3
// seconds ago", "Up 2 hours (Paused)", "Restarting (1) 1 second ago".
func humanStatus(st State) string {
	switch st.Status {
	case "running":
		return "Up " + humanDuration(time.Since(st.StartedAt))
	case "paused":
		return "Up " + humanDuration(time.Since(st.StartedAt)) + " (Paused)"
	case "restarting":
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, humanDuration(time.Since(st.FinishedAt)))
	case "created":
		return "Created"
	}
	if st.ExitCode == -1 && st.FinishedAt.IsZero() {
		return "Exited (unknown)"
	}
	return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, humanDuration(time.Since(st.FinishedAt)))
}

// humanDuration is Docker's units.HumanDuration.
func humanDuration(d time.Duration) string {
	s := int(d.Seconds())
	switch {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	case d.Minutes() < 2:
		return "About a minute"
	case d.Minutes() < 60:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d.Hours() < 2:
		return "About an hour"
	case d.Hours() < 48:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	case d.Hours() < 24*7*2:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d.Hours() < 24*30*2:
		return fmt.Sprintf("%d weeks", int(d.Hours()/24/7))
	case d.Hours() < 24*365*2:
		return fmt.Sprintf("%d months", int(d.Hours()/24/30))
	}
	return fmt.Sprintf("%d years", int(d.Hours()/24/365))
}

// HumanDuration is humanDuration for the command line (CREATED column).
func HumanDuration(d time.Duration) string { return humanDuration(d) }

// Inspect is `minirun inspect`'s JSON for a container, with Docker's field
// names where Docker has the same field.
type Inspect struct {
	ID              string          `json:"Id"`
	Created         time.Time       `json:"Created"`
	Path            string          `json:"Path"`
	Args            []string        `json:"Args"`
	State           State           `json:"State"`
	Image           string          `json:"Image"`
	Name            string          `json:"Name"`
	RestartCount    int             `json:"RestartCount"`
	LogPath         string          `json:"LogPath"`
	HostConfig      InspectHost     `json:"HostConfig"`
	Mounts          []MountPoint    `json:"Mounts"`
	Config          InspectConfig   `json:"Config"`
	NetworkSettings InspectNetworks `json:"NetworkSettings"`
	Bundle          string          `json:"Bundle"` // minirun's: the OCI bundle
}

type InspectHost struct {
	NetworkMode   string            `json:"NetworkMode"`
	RestartPolicy map[string]any    `json:"RestartPolicy"`
	AutoRemove    bool              `json:"AutoRemove"`
	PortBindings  map[string][]Bind `json:"PortBindings"`
	ExtraHosts    []string          `json:"ExtraHosts"`
	UsernsMode    string            `json:"UsernsMode"`       // "" (the host's, Docker's spelling) or auto
	UserNS        *UserNS           `json:"UserNS,omitempty"` // minirun's: the host IDs of --userns=auto
}

type Bind struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

type InspectConfig struct {
	Hostname     string   `json:"Hostname"`
	User         string   `json:"User"`
	Tty          bool     `json:"Tty"`
	OpenStdin    bool     `json:"OpenStdin"`
	Env          []string `json:"Env"`
	Cmd          []string `json:"Cmd"`
	Image        string   `json:"Image"`
	WorkingDir   string   `json:"WorkingDir"`
	StopSignal   string   `json:"StopSignal,omitempty"`
	StopTimeout  int      `json:"StopTimeout,omitempty"`
	ImageID      string   `json:"ImageID,omitempty"`
	NetworkAlias []string `json:"NetworkAliases,omitempty"`
}

type InspectNetworks struct {
	IPAddress string                     `json:"IPAddress"`
	Gateway   string                     `json:"Gateway"`
	Ports     map[string][]Bind          `json:"Ports"`
	Networks  map[string]InspectEndpoint `json:"Networks"`
}

type InspectEndpoint struct {
	IPAddress   string   `json:"IPAddress"`
	IPPrefixLen int      `json:"IPPrefixLen"`
	Gateway     string   `json:"Gateway"`
	Aliases     []string `json:"Aliases"`
	NetworkID   string   `json:"NetworkID"`
	Interface   string   `json:"Interface"`
	HostVeth    string   `json:"HostVeth"`
}

// InspectContainer describes a container.
func (e *Engine) InspectContainer(ref string) (*Inspect, error) {
	m, err := e.Find(ref)
	if err != nil {
		return nil, err
	}
	st := e.status(m)
	in := &Inspect{ID: m.ID, Created: m.Created, State: st, Image: m.ImageID, Name: "/" + m.Name,
		RestartCount: st.RestartCount, Mounts: m.Mounts, Bundle: e.bundleDir(m.ID)}
	if in.Mounts == nil {
		in.Mounts = []MountPoint{}
	}
	if len(m.Command) > 0 {
		in.Path, in.Args = m.Command[0], m.Command[1:]
	}
	if m.Detached {
		in.LogPath = e.logPath(m.ID)
	}
	policy, _ := parseRestart(m.Restart)
	in.HostConfig = InspectHost{NetworkMode: firstNonEmpty(m.Network, DefaultNetwork), AutoRemove: m.Remove, ExtraHosts: m.ExtraHosts,
		RestartPolicy: map[string]any{"Name": policy.name, "MaximumRetryCount": policy.maxRetries}, PortBindings: map[string][]Bind{}, UserNS: m.UserNS}
	if m.UserNS != nil {
		in.HostConfig.UsernsMode = "auto"
	}
	for _, p := range m.Ports {
		key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
		hp := ""
		if p.HostPort != 0 {
			hp = fmt.Sprint(p.HostPort)
		}
		in.HostConfig.PortBindings[key] = append(in.HostConfig.PortBindings[key], Bind{HostIP: p.HostIP, HostPort: hp})
	}
	in.Config = InspectConfig{Hostname: m.Hostname, Tty: m.TTY, OpenStdin: m.OpenStdin, Cmd: m.Command, Image: m.Image,
		StopSignal: m.StopSignal, StopTimeout: m.StopTimeout, ImageID: m.ImageID, NetworkAlias: m.Aliases}
	if spec, err := container.LoadSpec(e.bundleDir(m.ID)); err == nil && spec.Process != nil {
		in.Config.Env, in.Config.WorkingDir = spec.Process.Env, spec.Process.Cwd
		in.Config.User = fmt.Sprintf("%d:%d", spec.Process.User.UID, spec.Process.User.GID)
	}
	in.NetworkSettings = InspectNetworks{Ports: map[string][]Bind{}, Networks: map[string]InspectEndpoint{}}
	t := &endpointTable{}
	if readEndpoints(e, t) == nil {
		if c := t.Containers[m.ID]; c != nil && st.Running {
			for i, ep := range c.Endpoints {
				ie := InspectEndpoint{IPAddress: ep.IP, Aliases: ep.Aliases, Interface: ep.IfName, HostVeth: ep.HostVeth}
				if n, err := e.readNetwork(ep.Network); err == nil {
					ie.Gateway, ie.NetworkID = n.Gateway, n.ID
					ie.IPPrefixLen = netip.MustParsePrefix(n.Subnet).Bits()
				}
				in.NetworkSettings.Networks[ep.Network] = ie
				if i == 0 {
					in.NetworkSettings.IPAddress, in.NetworkSettings.Gateway = ie.IPAddress, ie.Gateway
				}
			}
			for _, p := range c.Ports {
				key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
				in.NetworkSettings.Ports[key] = append(in.NetworkSettings.Ports[key], Bind{HostIP: firstNonEmpty(p.HostIP, "0.0.0.0"), HostPort: fmt.Sprint(p.HostPort)})
			}
		}
	}
	return in, nil
}
