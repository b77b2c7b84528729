//! Who holds a TCP port: so "the port is in use" can say whether it is
//! another Switchyard or some other program, and which.
//!
//! Linux only (`/proc/net/tcp*` for the listening socket's inode, then
//! `/proc/PID/fd` for its owner); best effort — a process of another user
//! is not readable without root, and other systems say nothing.

/// A process holding a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortHolder {
    pub pid: u32,
    /// Its command name (`/proc/PID/comm`).
    pub name: String,
}

impl PortHolder {
    /// Whether it is a Switchyard (the app or `serve`).
    pub fn is_switchyard(&self) -> bool {
        self.name.starts_with("switchyard")
    }
}

/// The process listening on `port` (any address), if it can be found.
pub fn port_holder(port: u16) -> Option<PortHolder> {
    #[cfg(target_os = "linux")]
    {
        let inodes: Vec<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
            .iter()
            .filter_map(|table| std::fs::read_to_string(table).ok())
            .flat_map(|text| listening_inodes(&text, port))
            .collect();
        if inodes.is_empty() {
            return None;
        }
        owner_of(&inodes)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = port;
        None
    }
}

/// The inodes of the sockets in a `/proc/net/tcp` table listening on `port`.
#[cfg(any(target_os = "linux", test))]
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let (_, local_port) = local.rsplit_once(':')?;
            let listening = *fields.get(3)? == LISTEN;
            (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                .then(|| fields.get(9)?.parse().ok())
                .flatten()
        })
        .collect()
}

#[cfg(target_os = "linux")]
fn owner_of(inodes: &[u64]) -> Option<PortHolder> {
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .ok()
                .and_then(|target| target.to_str().map(|t| wanted.iter().any(|w| w == t)))
                .unwrap_or(false)
        });
        if holds {
            let name = std::fs::read_to_string(entry.path().join("comm"))
                .map(|n| n.trim().to_owned())
                .unwrap_or_default();
            return Some(PortHolder { pid, name });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F75 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F75 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 5151 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 100 0 0 10 0
";

    #[test]
    fn only_the_listening_socket_of_the_port_counts() {
        assert_eq!(listening_inodes(TABLE, 8053), [4242]);
        assert_eq!(listening_inodes(TABLE, 22), [77]);
        assert!(listening_inodes(TABLE, 8045).is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn finds_this_process_holding_a_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = port_holder(port).expect("found");
        assert_eq!(holder.pid, std::process::id());
        assert!(!holder.is_switchyard() || holder.name.starts_with("switchyard"));
    }
}
