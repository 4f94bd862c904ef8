-- What the payment service needs at run time beyond the first schema.

-- The reconciler's lease: a replica that picks a stuck payment owns it until this time, so
-- several replicas can run the reconciler without finishing the same payment twice at once.
ALTER TABLE payment.payments ADD COLUMN reconcile_lease_until timestamptz;
CREATE INDEX payments_reconcile_idx ON payment.payments (updated_at)
    WHERE status IN ('ready', 'approved', 'refunded');

-- The sandbox provider's own ledger. It plays the part of a payment company: it remembers what
-- it approved (so a lost response can be looked up, across restarts) and which refunds it made,
-- keyed by the idempotency keys it was given, exactly as a real provider would.
CREATE TABLE payment.sandbox_transactions (
    payment_key    text PRIMARY KEY,
    order_id       text NOT NULL,
    amount         integer NOT NULL,
    method         text NOT NULL,
    status         text NOT NULL DEFAULT 'DONE',
    balance_amount integer NOT NULL,
    approved_at    timestamptz NOT NULL DEFAULT now(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sandbox_transactions_order_key UNIQUE (order_id),
    CONSTRAINT sandbox_transactions_status_check CHECK (status IN ('DONE', 'CANCELED', 'PARTIAL_CANCELED')),
    CONSTRAINT sandbox_transactions_balance_check CHECK (balance_amount >= 0 AND balance_amount <= amount)
);

CREATE TABLE payment.sandbox_cancels (
    idempotency_key text PRIMARY KEY,
    payment_key     text NOT NULL,
    amount          integer NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
