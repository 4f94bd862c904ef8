//! The ALB path table, written once: which service serves which URL path prefixes.
//!
//! The all-in-one binary dispatches with it, the k8s Ingress is checked against it by a test,
//! and the README quotes it. A new prefix is added here and nowhere else.

/// The four services. Each is its own crate, binary and Deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Accounts and tokens.
    Auth,
    /// Events, seats, reservations, the waiting queue, Socket.IO.
    Ticket,
    /// Payments and refunds.
    Payment,
    /// Read-only statistics.
    Stats,
}

impl Service {
    /// Every service, in a stable order.
    pub const ALL: [Service; 4] = [
        Service::Auth,
        Service::Ticket,
        Service::Payment,
        Service::Stats,
    ];

    /// The service's short name: its crate suffix, binary suffix and k8s name suffix.
    pub fn name(self) -> &'static str {
        match self {
            Service::Auth => "auth",
            Service::Ticket => "ticket",
            Service::Payment => "payment",
            Service::Stats => "stats",
        }
    }

    /// The port a service binary listens on when `PORT` is unset (local runs of one service).
    pub fn default_port(self) -> u16 {
        match self {
            Service::Auth => 3001,
            Service::Ticket => 3002,
            Service::Payment => 3003,
            Service::Stats => 3004,
        }
    }

    /// The path prefixes this service serves.
    pub fn prefixes(self) -> &'static [&'static str] {
        PATH_TABLE
            .iter()
            .find(|(s, _)| *s == self)
            .map(|(_, p)| *p)
            .unwrap_or(&[])
    }
}

/// Path prefixes per service, as the ALB routes them.
pub const PATH_TABLE: &[(Service, &[&str])] = &[
    (Service::Auth, &["/api/auth"]),
    (
        Service::Ticket,
        &[
            "/api/events",
            "/api/tickets",
            "/api/seats",
            "/api/reservations",
            "/api/queue",
            "/api/admin",
            "/api/image",
            "/api/news",
            "/socket.io",
        ],
    ),
    (Service::Payment, &["/api/payments"]),
    (Service::Stats, &["/api/stats"]),
];

/// The service that serves `path`, matching prefixes element-wise like an ALB `Prefix` rule:
/// `/api/events` matches `/api/events` and `/api/events/1`, not `/api/eventsx`.
pub fn service_for_path(path: &str) -> Option<Service> {
    PATH_TABLE.iter().find_map(|(service, prefixes)| {
        prefixes
            .iter()
            .any(|prefix| {
                path.strip_prefix(prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .then_some(*service)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_segments() {
        assert_eq!(service_for_path("/api/auth/login"), Some(Service::Auth));
        assert_eq!(service_for_path("/api/events"), Some(Service::Ticket));
        assert_eq!(service_for_path("/api/events/123"), Some(Service::Ticket));
        assert_eq!(service_for_path("/socket.io/"), Some(Service::Ticket));
        assert_eq!(
            service_for_path("/api/payments/confirm"),
            Some(Service::Payment)
        );
        assert_eq!(
            service_for_path("/api/stats/overview"),
            Some(Service::Stats)
        );
        assert_eq!(service_for_path("/api/eventsx"), None);
        assert_eq!(service_for_path("/"), None);
        assert_eq!(service_for_path("/index.html"), None);
    }

    #[test]
    fn no_prefix_belongs_to_two_services() {
        let all: Vec<&str> = PATH_TABLE
            .iter()
            .flat_map(|(_, p)| p.iter().copied())
            .collect();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
                assert_eq!(service_for_path(a), service_for_path(&format!("{a}/x")));
            }
        }
        for service in Service::ALL {
            assert!(!service.prefixes().is_empty(), "{service:?} serves nothing");
        }
    }
}
