//! Seat status words. The database keeps its own (`available`, `held`, `sold`: what the hold and
//! sale statements guard on); clients read the words of the original Tiketi: `available`,
//! `locked` (held for a pending reservation) and `reserved` (sold). Every answer that lists
//! seats maps at the edge with [`wire_status_sql`].

/// The word clients read for a seat in database status `status`.
pub fn wire_status(status: &str) -> &str {
    match status {
        "held" => "locked",
        "sold" => "reserved",
        other => other,
    }
}

/// SQL for the client's word of the seat status column `column` (e.g. `s.status`).
pub fn wire_status_sql(column: &str) -> String {
    format!(
        "(CASE {column} WHEN 'held' THEN 'locked' WHEN 'sold' THEN 'reserved' ELSE {column} END)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_is_locked_and_sold_is_reserved() {
        assert_eq!(wire_status("available"), "available");
        assert_eq!(wire_status("held"), "locked");
        assert_eq!(wire_status("sold"), "reserved");
        assert!(wire_status_sql("s.status").contains("WHEN 'held' THEN 'locked'"));
    }
}
