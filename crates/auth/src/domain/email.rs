//! Email addresses, normalised once (trimmed, lower-cased) so uniqueness holds however a fan
//! types it.

/// A syntactically plausible, normalised email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Trims and lower-cases `raw` and checks its shape: one `@`, a non-empty local part, a
    /// domain with a dot, no spaces, at most 254 characters.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("email is required");
        }
        if email.len() > 254 {
            return Err("email is too long");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err("email must contain @");
        };
        let valid = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            return Err("email is not a valid address");
        }
        Ok(Self(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Fan@Example.COM ").unwrap().as_str(),
            "fan@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "fan",
            "fan@",
            "@example.com",
            "fan@example",
            "a b@example.com",
            "a@b@c.com",
            "fan@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
