-- Virtual accounts, continued (issue 16, payment findings 3 and 4).
--
-- deposit_account: what the fan needs to pay into the account Toss issued (`virtualAccount`:
--   accountNumber, bankCode, customerName, dueDate), kept as Toss sent it so the confirm's 202
--   and `GET /api/payments/order/:orderId` can show it again. Not a secret (it is the fan's own
--   transfer instruction); the callback secret stays in `deposit_secret`.
-- deposit_hold_until: how long the seats are actually held for the deposit. Toss may give an
--   account days (up to 30); the hold ends at the earliest of that due date, the issue time plus
--   DEPOSIT_HOLD_MAX_HOURS, the sale's end and the show's start. Fixed when the account is
--   recorded, so the reconciler's repeated "keep the hold" never slides it forward.
ALTER TABLE payment.payments ADD COLUMN deposit_account jsonb;
ALTER TABLE payment.payments ADD COLUMN deposit_hold_until timestamptz;
