// Scenario: the shopping clock. A fan admitted with a short shopping time sees the admission's
// countdown on the seat map with its one-minute warning; when it lapses the choice is dropped,
// no seat can be chosen, the hold button is disabled and the way back to the queue is offered,
// with nothing held. Joining again
// (with a longer limit), the fan holds a seat, sees the hold's countdown on the payment page,
// goes back and is offered "continue payment" for the own hold (not a second hold); when the
// hold runs out the payment page offers to choose seats again and the seats are free.
import { launch, watch, shot, step, call, main, baseUrl, args, axeCheck } from './lib.mjs';

const { eventId, fanToken, adminToken } = args;

function check(cond, what) { if (!cond) throw new Error(what); }

async function heldSeats() {
  const map = await fetch(`${baseUrl}/api/seats/events/${eventId}`).then((r) => r.json());
  return map.seats.filter((s) => s.status !== 'available').map((s) => s.seat_label);
}

await main(async () => {
  const b = await launch();
  await b.context.addInitScript(([token]) => {
    sessionStorage.setItem('tiketi.token', token);
    sessionStorage.setItem('tiketi.user', JSON.stringify({ name: 'Clock Fan', role: 'user' }));
    localStorage.setItem('tiketi.lang', 'en');
  }, [fanToken]);
  const page = b.context.pages()[0] || await b.context.newPage();
  watch(page, 'fan');
  await page.goto(`${baseUrl}/#/events/${eventId}`);
  await page.getByTestId('book').click();
  await page.waitForURL(/#\/events\/.+\/seats/);
  const clock = page.getByTestId('admission-clock');
  await clock.waitFor();
  await page.getByTestId('admission-clock-time').filter({ hasText: /^00:[01]\d$/ }).waitFor();
  // Less than a minute left from the start: the warning is up at once.
  await page.getByTestId('admission-clock-warning').filter({ hasText: 'One minute of shopping time left' }).waitFor();
  await page.locator('.seat[data-label="A-1-1"]').click();
  await page.getByTestId('selection').filter({ hasText: 'A-1-1' }).waitFor();
  await shot(page, 'clock-01-admission-countdown-phone');
  await axeCheck(page, 'clock-01-admission-countdown-phone');
  step('admission countdown visible');

  await page.locator('[data-testid=admission-clock][data-state=expired]').waitFor({ timeout: 30000 });
  await page.getByTestId('rejoin-queue').waitFor();
  check(await page.getByTestId('hold').isDisabled(), 'the hold button still works after the admission lapsed');
  // The seats stay focusable (the grid keeps its Tab stop) but are marked unavailable, the
  // choice is dropped, and clicking one chooses nothing.
  check((await page.locator('.seat[data-label="A-1-2"]').getAttribute('aria-disabled')) === 'true', 'seats not marked unavailable after the admission lapsed');
  await page.locator('.seat[data-label="A-1-2"]').click({ force: true });
  check(!/A-1-[12]/.test(await page.getByTestId('selection').innerText()), 'a seat is still chosen after the admission lapsed');
  check(await page.getByTestId('hold').isDisabled(), 'choosing after the lapse enabled the hold button');
  const held = await heldSeats();
  check(held.length === 0, `seats held after the lapse: ${held}`);
  await shot(page, 'clock-02-admission-lapsed-phone');
  await axeCheck(page, 'clock-02-admission-lapsed-phone');
  step('admission lapsed with the way back');

  // The operator gives more time; the fan joins again through the offered link (desktop now).
  await call('PUT', `/api/queue/admin/${eventId}/settings`, adminToken, { admissionTtlSec: 600 });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByTestId('rejoin-queue').click();
  await page.waitForURL(/#\/events\/.+\/seats/, { timeout: 20000 });
  await page.getByTestId('admission-clock-time').filter({ hasText: /^(10:00|09:\d\d)$/ }).waitFor();
  await page.locator('.seat[data-label="B-1-3"]').click();
  await page.getByTestId('hold').click();
  await page.waitForURL(/#\/pay\//);
  const payUrl = page.url();
  await page.getByTestId('hold-left-time').filter({ hasText: /^00:\d\d$/ }).waitFor();
  await shot(page, 'clock-03-hold-countdown-desktop');
  await axeCheck(page, 'clock-03-hold-countdown-desktop');
  step('hold countdown visible');

  // Back from payment: the own hold is offered, shown as the fan's.
  await page.goBack();
  await page.waitForURL(/#\/events\/.+\/seats/);
  await page.getByTestId('own-hold').filter({ hasText: 'B-1-3' }).waitFor();
  await page.locator('.seat[data-label="B-1-3"][data-status=mine-held]').waitFor();
  await shot(page, 'clock-04-continue-own-hold-desktop');
  await axeCheck(page, 'clock-04-continue-own-hold-desktop');
  await page.getByTestId('continue-payment').click();
  await page.waitForURL(payUrl);
  step('continued the own hold');

  // The hold runs out on the payment page: the way back, and the seat is free again.
  await page.locator('[data-testid=hold-left][data-state=expired]').waitFor({ timeout: 60000 });
  await page.getByTestId('choose-again').waitFor();
  check(await page.getByTestId('pay').isDisabled(), 'pay still enabled after the hold ran out');
  await shot(page, 'clock-05-hold-over-desktop');
  await axeCheck(page, 'clock-05-hold-over-desktop');
  await page.getByTestId('choose-again').click();
  await page.waitForURL(/#\/events\/.+\/seats/);
  await page.locator('.seat[data-label="B-1-3"][data-status=available]').waitFor();
  check(await page.getByTestId('own-hold').count() === 0, 'an expired hold is still offered');
  const after = await heldSeats();
  check(after.length === 0, `seats still held after the hold ran out: ${after}`);
  step('hold over, choose again');
  await b.close();
});
