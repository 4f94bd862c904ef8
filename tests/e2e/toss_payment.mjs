// Scenario (d): a server configured for TossPayments (its REST API is tests/src/toss.rs' stand-in).
// The fan holds a seat; the payment page loads Toss' SDK through the vendored loader and renders
// the widget; closing Toss' checkout lands on the fail page in words; trying again pays, the
// success page confirms with the server, and the ticket is then refunded through Toss.
//
// What is real: the web client's code, the vendored `@tosspayments/tosspayments-sdk` loader, the
// server's Toss adapter. What is stood in: the SDK script the loader fetches from
// js.tosspayments.com (served from toss_sdk_standin.js by a route: no Toss servers here) and
// Toss' REST API (FakeToss).
import { readFileSync } from 'node:fs';
import { launch, watch, shot, step, main, baseUrl, args, axeCheck } from './lib.mjs';

const { eventId, token, user } = args;
const SDK_URL = 'https://js.tosspayments.com/v2/standard';
const standIn = readFileSync(new URL('./toss_sdk_standin.js', import.meta.url), 'utf8');

await main(async () => {
  const b = await launch();
  const sdkRequests = [];
  let tossReachable = false;
  // Nothing leaves this machine: the SDK address gets the stand-in (once Toss is "reachable"),
  // anything else of Toss' fails.
  await b.context.route(/^https:\/\/([\w-]+\.)*tosspayments\.com\//, (route) => {
    if (tossReachable && route.request().url() === SDK_URL) {
      sdkRequests.push(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/javascript', body: standIn });
    }
    return route.abort();
  });
  await b.context.addInitScript(([token, user]) => {
    if (!sessionStorage.getItem('tiketi.token')) {
      sessionStorage.setItem('tiketi.token', token);
      sessionStorage.setItem('tiketi.user', JSON.stringify(user));
    }
    localStorage.setItem('tiketi.lang', 'en');
  }, [token, user]);
  const page = b.context.pages()[0] || await b.context.newPage();
  watch(page, 'toss');
  let successUrl = null;
  page.on('framenavigated', (f) => { if (f === page.mainFrame() && /\/pay\/[\w-]+\/success\?/.test(f.url())) successUrl ??= f.url(); });

  await page.goto(`${baseUrl}/#/events/${eventId}/seats`);
  await page.locator('[data-testid=conn][data-state=connected]').waitFor();
  await page.locator('.seat[data-label="A-1-1"]').click();
  await page.getByTestId('hold').click();
  await page.waitForURL(/#\/pay\/[\w-]+$/);
  const reservationId = page.url().match(/#\/pay\/([\w-]+)$/)[1];

  // Toss' CDN out of reach: the fan is told in words and cannot pay; a reload once it is back
  // loads the widget.
  await page.getByRole('alert').filter({ hasText: 'The TossPayments checkout did not load' }).waitFor();
  if (!(await page.getByTestId('pay').isDisabled())) throw new Error('pay is enabled without the widget');
  step('sdk outage in words');
  tossReachable = true;
  await page.reload();

  // The widget is Toss' (here, the stand-in's) markup inside the page.
  const methods = page.getByTestId('toss-methods');
  await methods.getByLabel('카드 / Card').waitFor();
  const seen = await page.evaluate(() => window.__tossStandIn);
  if (sdkRequests.filter((u) => u === SDK_URL).length !== 1) throw new Error(`SDK requests: ${JSON.stringify(sdkRequests)}`);
  if (seen.clientKey !== 'test_ck_tiketi') throw new Error(`client key ${seen.clientKey}`);
  if (seen.customerKey !== user.id) throw new Error(`customer key ${seen.customerKey}`);
  if (seen.amount !== 30000) throw new Error(`amount ${seen.amount}`);
  if (await page.getByLabel('Decline test (sandbox)').count()) throw new Error('sandbox methods shown with Toss configured');
  await page.getByTestId('pay').filter({ hasText: '₩30,000' }).waitFor();
  await shot(page, 'fan-09-toss-widget');
  await axeCheck(page, 'pay with the Toss widget');
  step('widget rendered');

  // The fan closes Toss' checkout: Toss sends the browser to the fail page.
  await methods.getByLabel('Checkout outcome').selectOption('close');
  await page.getByTestId('pay').click();
  await page.waitForURL(/#\/pay\/[\w-]+\/fail\?/);
  await page.getByTestId('result').filter({ hasText: 'Payment failed' }).waitFor();
  await page.getByRole('alert').filter({ hasText: 'You cancelled the payment; you can try again.' }).waitFor();
  await page.getByText('사용자에 의해 결제가 취소되었습니다. · PAY_PROCESS_CANCELED').waitFor();
  await shot(page, 'fan-10-toss-checkout-closed');
  await axeCheck(page, 'Toss checkout closed');
  step('fail page in words');

  // Trying again: the same reservation, the widget again, and this time Toss approves.
  await page.getByTestId('try-again').click();
  await page.waitForURL(new RegExp(`#/pay/${reservationId}$`));
  await methods.getByLabel('토스페이 / Toss Pay').check();
  await page.getByTestId('pay').click();
  await page.waitForURL(/#\/result\//, { timeout: 20000 });
  await page.getByTestId('result').filter({ hasText: 'Payment complete' }).waitFor();
  await page.getByTestId('qr').locator('svg').waitFor();
  await shot(page, 'fan-11-toss-paid');
  await axeCheck(page, 'result after Toss');
  step('paid with toss');

  // Opening Toss' success address again confirms again without a second charge (confirm is
  // idempotent); the Rust test counts the charges at Toss.
  if (!successUrl) throw new Error('never saw the success redirect');
  await page.goto(successUrl);
  await page.getByTestId('result').filter({ hasText: 'Payment complete' }).waitFor();
  step('success address replayed');

  await page.getByRole('link', { name: 'See my tickets' }).click();
  const ticket = page.locator('.ticket[data-status=confirmed]');
  await ticket.getByTestId('cancel').click();
  await page.getByText(/Refunded: ₩30,000/).waitFor();
  await page.locator('.ticket[data-status=cancelled] .chip.refunded').waitFor();
  step('refunded through toss');
  console.log(`reservation ${reservationId}`);
  await b.close();
});
