// Scenario (a): a fan registers, opens an on-sale event whose queue is full, waits and watches the
// place move, is admitted when the active fan leaves, holds a seat (a second browser sees it taken
// at once), pays in the sandbox, sees the ticket's QR code, cancels and sees the refund.
import { launch, watch, shot, step, call, main, baseUrl, args, axeCheck } from './lib.mjs';

const { eventId, email, password, activeToken, aheadToken, adminToken, watcherToken } = args;

await main(async () => {
  const fan = await launch();
  const page = fan.context.pages()[0] || await fan.context.newPage();
  watch(page, 'fan');
  await page.goto(`${baseUrl}/`);
  await page.getByTestId('lang').click(); // Korean first; the test reads English.
  await page.getByText('Browser Fest 2026').first().waitFor();
  await page.locator('section[data-status=on_sale] .countdown').filter({ hasText: /Closes in/ }).first().waitFor();
  // Search by venue: the query lands in the URL and the event is found.
  await page.getByRole('searchbox').fill('Olympic');
  await page.getByRole('searchbox').press('Enter');
  await page.waitForURL(/#\/\?q=Olympic/);
  await page.locator('.card').filter({ hasText: 'Browser Fest 2026' }).waitFor();
  step('searched');
  await shot(page, 'fan-01-home');
  await axeCheck(page, 'home');

  await page.getByText('Browser Fest 2026').first().click();
  await page.getByTestId('book').waitFor();
  await axeCheck(page, 'event page');
  // After a navigation the focus is on the page's heading.
  if ((await page.evaluate(() => document.activeElement?.tagName)) !== 'H1') throw new Error('the event page heading does not have the focus');
  await page.getByTestId('book').click();
  // Not signed in: the sign-in page, then register, then back to the queue.
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await axeCheck(page, 'sign-in');
  await page.getByRole('link', { name: 'Register' }).click();
  await page.getByRole('heading', { name: 'Register' }).waitFor();
  await axeCheck(page, 'sign-up');
  await page.getByLabel('Name').fill('Browser Fan');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.waitForURL(/#\/events\/.+\/queue/);
  step('registered');

  await page.getByTestId('position').filter({ hasText: '2' }).waitFor();
  await page.getByText('1 ahead of you').waitFor();
  await page.locator('[data-testid=conn][data-state=connected]').waitFor();
  await shot(page, 'fan-02-waiting-room');
  await axeCheck(page, 'waiting room');
  step('queued at 2');

  // A refresh keeps the place.
  await page.reload();
  await page.getByTestId('position').filter({ hasText: '2' }).waitFor();

  // The fan ahead leaves: the place moves up by a push.
  await call('POST', `/api/queue/leave/${eventId}`, aheadToken);
  await page.getByTestId('position').filter({ hasText: '1' }).waitFor();
  await page.getByText('0 ahead of you').waitFor();
  step('moved to 1');

  // The shopping fan leaves: the processor admits this fan, who lands on the seat map.
  await call('POST', `/api/queue/leave/${eventId}`, activeToken);
  await page.waitForURL(/#\/events\/.+\/seats/, { timeout: 20000 });
  await page.locator('.seat').first().waitFor();
  step('admitted');

  // A second browser watches the same seat map (the operator makes room for it).
  await call('PUT', `/api/queue/admin/${eventId}/settings`, adminToken, { threshold: 5 });
  const other = await launch();
  await other.context.addInitScript(([token]) => {
    sessionStorage.setItem('tiketi.token', token);
    sessionStorage.setItem('tiketi.user', JSON.stringify({ name: 'Watcher', role: 'user' }));
    localStorage.setItem('tiketi.lang', 'en');
  }, [watcherToken]);
  const page2 = other.context.pages()[0] || await other.context.newPage();
  watch(page2, 'watcher');
  await page2.goto(`${baseUrl}/#/events/${eventId}/seats`);
  await page2.locator('[data-testid=conn][data-state=connected]').waitFor();
  const seat = page.locator('.seat[data-label="B-1-4"]');
  await page.locator('[data-testid=conn][data-state=connected]').waitFor();
  await seat.focus();
  await page.keyboard.press('Enter'); // keyboard-usable seat choice
  await page.getByTestId('selection').filter({ hasText: 'B-1-4' }).waitFor();
  await shot(page, 'fan-03-seat-map');
  await axeCheck(page, 'seat map');
  // The second fan has picked the same seat and is about to lose it.
  await page2.locator('.seat[data-label="B-1-4"]').click();
  await page2.getByTestId('selection').filter({ hasText: 'B-1-4' }).waitFor();
  await page.getByTestId('hold').click();
  await page.waitForURL(/#\/pay\//);
  await page2.locator('.seat[data-label="B-1-4"][data-status=locked]').waitFor({ timeout: 5000 });
  // Said at the seat itself (a visible note, in its accessible name), not only in the bottom bar.
  const lost = page2.locator('.seat[data-label="B-1-4"]');
  await lost.getByTestId('seat-note').filter({ hasText: 'Just taken' }).waitFor();
  if (!((await lost.getAttribute('aria-label')) || '').includes('Just taken')) throw new Error(`the taken seat's name does not say so: ${await lost.getAttribute('aria-label')}`);
  await page2.getByRole('alert').filter({ hasText: 'Someone just took seat B-1-4' }).waitFor();
  if (!(await page2.locator('.seat[data-label="B-1-4"]').isDisabled())) throw new Error('the held seat is still clickable in the second browser');
  await shot(page2, 'fan-04-second-browser-sees-seat-taken');
  step('seat taken in second browser');
  await other.close();

  await page.getByTestId('hold-left').filter({ hasText: 'left' }).waitFor();
  await page.getByLabel('Kakao Pay').check();
  await shot(page, 'fan-05-payment');
  await axeCheck(page, 'pay');
  await page.getByTestId('pay').click();
  await page.waitForURL(/#\/result\//);
  await page.getByTestId('result').filter({ hasText: 'Payment complete' }).waitFor();
  step('paid');
  await page.getByTestId('qr').locator('svg').waitFor();
  await shot(page, 'fan-06-result');
  await axeCheck(page, 'result');

  // An access token the server refuses (as an expired one would be): the client trades the
  // refresh cookie for a new one and retries, so the fan never notices.
  await page.evaluate(() => sessionStorage.setItem('tiketi.token', 'expired.access.token'));
  await page.getByRole('link', { name: 'See my tickets' }).click();
  await page.locator('.ticket').first().waitFor();
  if ((await page.evaluate(() => sessionStorage.getItem('tiketi.token'))) === 'expired.access.token') throw new Error('the token was not refreshed');
  step('session refreshed');
  const ticket = page.locator('.ticket[data-status=confirmed]');
  await ticket.getByTestId('qr').locator('svg').waitFor();
  await shot(page, 'fan-07-my-tickets');
  await axeCheck(page, 'my page');
  step('qr shown');

  await ticket.getByTestId('cancel').click();
  await page.getByText(/Refunded: ₩50,000/).waitFor();
  await page.locator('.ticket[data-status=cancelled] .chip.refunded').waitFor();
  await shot(page, 'fan-08-refunded');
  await axeCheck(page, 'my page after refund');
  // The same screens at desktop size.
  await page.setViewportSize({ width: 1280, height: 800 });
  await axeCheck(page, 'my page');
  await page.goto(`${baseUrl}/#/events/${eventId}`);
  await page.getByTestId('book').waitFor();
  await axeCheck(page, 'event page');
  await page.goto(`${baseUrl}/#/`);
  await page.locator('.card').first().waitFor();
  await axeCheck(page, 'home');
  step('refunded');
  await fan.close();
});
