// Scenario: the on-sale moment. An event page opened before the sale (desktop) becomes bookable
// at sale start by itself, timed by the server's clock, without a reload. Two fans arrive early in
// a FIFO queue that lets one fan shop at a time: one by the API, then one in a phone browser who
// waits on the pre-sale page. Nobody is admitted before the start; at the start the first to
// arrive is admitted first, and the phone fan follows when that fan is done.
import { launch, watch, shot, step, call, main, baseUrl, args, axeCheck } from './lib.mjs';

const { eventId, saleStartMs, earlyToken, fanToken } = args;

/** Fails unless `cond` holds. */
function check(cond, what) { if (!cond) throw new Error(what); }

await main(async () => {
  // The desktop page, anonymous, opened before the sale.
  const desk = await launch();
  await desk.context.addInitScript(() => localStorage.setItem('tiketi.lang', 'en'));
  const page = desk.context.pages()[0] || await desk.context.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  watch(page, 'desktop');
  await page.goto(`${baseUrl}/#/events/${eventId}`);
  await page.getByRole('heading', { level: 1, name: 'Opening Night' }).waitFor();
  await page.getByTestId('sale-countdown').filter({ hasText: /Opens in \d\d:\d\d/ }).waitFor();
  check(await page.getByTestId('book').count() === 0, 'bookable before the sale');
  await page.getByTestId('prices').filter({ hasText: 'Section VIP' }).waitFor();
  // Marks this document: a reload would lose it.
  await page.evaluate(() => { window.__sameDocument = 'kept'; });
  await shot(page, 'sale-01-event-before-open-desktop');
  await axeCheck(page, 'sale-01-event-before-open-desktop');
  step('event page before the sale');

  // The first early fan joins by the API: a place in line, no admission.
  const early = await call('POST', `/api/queue/check/${eventId}`, earlyToken);
  check(early.queued === true && early.position === 1, `early fan: ${JSON.stringify(early)}`);
  check(typeof early.serverTime === 'number' && Date.parse(early.saleStart) === saleStartMs, `clock fields: ${JSON.stringify(early)}`);

  // The second early fan, on a phone, signed in.
  const phone = await launch();
  await phone.context.addInitScript(([token]) => {
    sessionStorage.setItem('tiketi.token', token);
    sessionStorage.setItem('tiketi.user', JSON.stringify({ name: 'Early Fan', role: 'user' }));
    localStorage.setItem('tiketi.lang', 'en');
  }, [fanToken]);
  const fan = phone.context.pages()[0] || await phone.context.newPage();
  watch(fan, 'phone');
  await fan.goto(`${baseUrl}/#/events/${eventId}`);
  await fan.getByTestId('wait-early').click();
  await fan.waitForURL(/#\/events\/.+\/queue/);
  await fan.getByTestId('presale').waitFor();
  await fan.getByTestId('presale-rule').filter({ hasText: 'in the order they arrived' }).waitFor();
  await fan.getByTestId('position').filter({ hasText: /^2$/ }).waitFor();
  await fan.getByTestId('shopping-limit').filter({ hasText: '10 min' }).waitFor();
  await shot(fan, 'sale-02-presale-waiting-phone');
  await axeCheck(fan, 'sale-02-presale-waiting-phone');
  // The event page knows the fan is in line, with the way back.
  await fan.goto(`${baseUrl}/#/events/${eventId}`);
  await fan.getByText('You are #2 in line.').waitFor();
  await shot(fan, 'sale-03-event-page-in-line-phone');
  await axeCheck(fan, 'sale-03-event-page-in-line-phone');
  await fan.getByTestId('back-to-line').click();
  await fan.getByTestId('position').filter({ hasText: /^2$/ }).waitFor();
  // Still before the start: nobody is in.
  const before = await call('GET', `/api/queue/status/${eventId}`, earlyToken);
  check(Date.now() < saleStartMs, 'the sale started before the early checks ran: give the test more lead time');
  check(before.status === 'queued' && before.position === 1, `admitted before the start: ${JSON.stringify(before)}`);
  step('early fans wait before the start');

  // The sale opens: the desktop page turns bookable by itself, not before the start.
  await page.getByTestId('book').waitFor({ timeout: 60000 });
  check(Date.now() >= saleStartMs - 1500, `bookable ${saleStartMs - Date.now()} ms before the start`);
  check(await page.evaluate(() => window.__sameDocument) === 'kept', 'the page was reloaded');
  await page.getByTestId('sale-announce').filter({ hasText: 'The sale is open' }).waitFor();
  await page.getByTestId('sale-countdown').filter({ hasText: /Closes in/ }).waitFor();
  await shot(page, 'sale-04-event-open-desktop');
  await axeCheck(page, 'sale-04-event-open-desktop');
  step('page became bookable without reload');

  // At the start the first to arrive is admitted; the phone fan is next in line.
  await fan.getByTestId('presale').waitFor({ state: 'hidden', timeout: 20000 });
  await fan.getByTestId('position').filter({ hasText: /^1$/ }).waitFor({ timeout: 20000 });
  const first = await call('GET', `/api/queue/status/${eventId}`, earlyToken);
  check(first.status === 'active', `the first arrival is not in: ${JSON.stringify(first)}`);
  const ends = Date.parse(first.admissionExpiresAt);
  check(ends >= saleStartMs + 600_000 - 1000, `the admission clock started before the sale: ends ${new Date(ends).toISOString()}`);
  check(fan.url().includes('/queue'), 'the second arrival was admitted ahead of the first');
  await shot(fan, 'sale-05-next-in-line-phone');
  await axeCheck(fan, 'sale-05-next-in-line-phone');
  step('first arrival admitted first');

  // The first fan is done: the phone fan is admitted and shops against a visible clock.
  await call('POST', `/api/queue/leave/${eventId}`, earlyToken);
  await fan.waitForURL(/#\/events\/.+\/seats/, { timeout: 20000 });
  await fan.getByTestId('admission-clock-time').filter({ hasText: /^(10:00|0\d:\d\d)$/ }).waitFor();
  await fan.locator('.seat').first().waitFor();
  await shot(fan, 'sale-06-admitted-seat-map-phone');
  await axeCheck(fan, 'sale-06-admitted-seat-map-phone');
  step('second arrival admitted');
  await phone.close();
  await desk.close();
});
