-- Virtual-account payments (TossPayments' `WAITING_FOR_DEPOSIT`): the provider accepts the
-- confirm, but the money arrives later, by the customer's bank transfer, or never. Such a
-- payment must not issue tickets until the provider says `DONE` (the `DEPOSIT_CALLBACK`
-- webhook, or the reconciler's lookup), and its hold must outlive the normal hold TTL until the
-- account's due date. So a new state between `ready` and `approved`:
--   awaiting_deposit  the provider issued a virtual account; nothing charged yet. Becomes
--                     `approved` (then `completed`) on the deposit, or `failed` (seats released)
--                     when the account expires or is cancelled.
ALTER TABLE payment.payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payment.payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('ready', 'awaiting_deposit', 'approved', 'completed', 'failed', 'refunded',
                      'partially_refunded'));

-- The account's due date (when the hold may lapse) and the secret Toss repeats in its
-- `DEPOSIT_CALLBACK`s for this payment: a callback whose secret differs is refused without
-- calling Toss. The secret is what the confirm answer carried; it is compared, never logged.
ALTER TABLE payment.payments ADD COLUMN deposit_due timestamptz;
ALTER TABLE payment.payments ADD COLUMN deposit_secret text;

-- The reconciler's work queue gains the payments awaiting a deposit.
DROP INDEX payment.payments_reconcile_idx;
CREATE INDEX payments_reconcile_idx ON payment.payments (updated_at)
    WHERE status IN ('ready', 'awaiting_deposit', 'approved', 'refunded');
