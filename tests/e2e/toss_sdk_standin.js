// A stand-in for TossPayments' browser SDK (https://js.tosspayments.com/v2/standard), which the
// vendored loader (`@tosspayments/tosspayments-sdk`) fetches from Toss' CDN. The browser tests
// cannot reach Toss, so toss_payment.mjs serves this file at that address instead (a Playwright
// route): the web client's code is unchanged and takes the real loader's path.
//
// It implements the part of the v2 widget API the client uses, with the real one's rules where a
// mistake would show: `TossPayments(clientKey).widgets({customerKey})`, `setAmount` before any
// render, `renderPaymentMethods` / `renderAgreement` into an existing selector, and
// `requestPayment` in redirect mode, which ends at `successUrl?paymentType&amount&orderId&paymentKey`
// or, when the fan closes the checkout, at `failUrl?code=PAY_PROCESS_CANCELED&message&orderId`.
// Toss' hosted checkout window itself is not imitated: a select in the widget picks the outcome.
(function () {
  class TossError extends Error {
    constructor(code, message) { super(message); this.code = code; this.name = 'TossPaymentsError'; }
  }
  const randomKey = () => {
    const a = new Uint8Array(12);
    crypto.getRandomValues(a);
    return `tgen_${Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  };
  const absolute = (u) => { try { return /^https?:$/.test(new URL(u).protocol); } catch { return false; } };

  window.TossPayments = function TossPayments(clientKey) {
    if (typeof clientKey !== 'string' || !/^(test|live)_g?ck_/.test(clientKey)) {
      throw new TossError('INVALID_CLIENT_KEY', `not a TossPayments client key: ${clientKey}`);
    }
    window.__tossStandIn = { clientKey, loads: (window.__tossStandIn?.loads || 0) + 1 };
    return {
      widgets({ customerKey }) {
        if (typeof customerKey !== 'string' || customerKey.length < 2 || customerKey.length > 300) {
          throw new TossError('INVALID_CUSTOMER_KEY', 'customerKey is required');
        }
        let amount = null;
        let methods = null;
        let agreement = null;
        const state = window.__tossStandIn;
        state.customerKey = customerKey;
        const mount = (selector) => {
          const el = document.querySelector(selector);
          if (!el) throw new TossError('INVALID_SELECTOR', `no element for ${selector}`);
          return el;
        };
        return {
          async setAmount({ currency, value }) {
            if (currency !== 'KRW' || !Number.isInteger(value) || value < 0) throw new TossError('INVALID_AMOUNT_VALUE', 'bad amount');
            amount = value;
            state.amount = value;
          },
          async renderPaymentMethods({ selector }) {
            if (amount == null) throw new TossError('NOT_SETUP_AMOUNT', 'setAmount first');
            if (methods) throw new TossError('ALREADY_RENDERED', 'payment methods already rendered');
            const el = mount(selector);
            el.innerHTML = `
              <fieldset class="toss-standin" style="border:2px solid #3182f6;border-radius:8px;padding:8px">
                <legend>TossPayments (stand-in) · ₩${amount.toLocaleString('en-GB')}</legend>
                <label class="radio"><input type="radio" name="toss-method" value="CARD" checked> 카드 / Card</label>
                <label class="radio"><input type="radio" name="toss-method" value="TOSSPAY"> 토스페이 / Toss Pay</label>
                <label>Checkout outcome (test)
                  <select name="toss-outcome" aria-label="Checkout outcome">
                    <option value="approve">Approve</option>
                    <option value="close">Close the checkout window</option>
                  </select>
                </label>
              </fieldset>`;
            methods = el;
            return { getSelectedPaymentMethod: () => ({ code: el.querySelector('input[name=toss-method]:checked')?.value }) };
          },
          async renderAgreement({ selector }) {
            if (agreement) throw new TossError('ALREADY_RENDERED', 'agreement already rendered');
            const el = mount(selector);
            el.innerHTML = '<label class="radio"><input type="checkbox" name="toss-agree" checked> [필수] 결제 서비스 이용 약관 동의 / I agree to the payment terms</label>';
            agreement = el;
            return {};
          },
          async requestPayment(req) {
            if (!methods) throw new TossError('NOT_SELECTED_PAYMENT_METHOD', 'render the payment methods first');
            if (!agreement?.querySelector('input[name=toss-agree]')?.checked) throw new TossError('NEED_AGREEMENT_WITH_REQUIRED_TERMS', 'agree to the terms');
            if (!/^[A-Za-z0-9_-]{6,64}$/.test(req.orderId || '')) throw new TossError('INVALID_ORDER_ID', `bad orderId ${req.orderId}`);
            if (!req.orderName) throw new TossError('INVALID_PARAMETERS', 'orderName is required');
            if (!absolute(req.successUrl)) throw new TossError('INCORRECT_SUCCESS_URL_FORMAT', 'successUrl must be absolute');
            if (!absolute(req.failUrl)) throw new TossError('INCORRECT_FAIL_URL_FORMAT', 'failUrl must be absolute');
            state.request = { ...req, method: methods.querySelector('input[name=toss-method]:checked')?.value };
            const outcome = methods.querySelector('select[name=toss-outcome]').value;
            const back = (base, params) => {
              const u = new URL(base);
              for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
              return u.toString();
            };
            location.href = outcome === 'close'
              ? back(req.failUrl, { code: 'PAY_PROCESS_CANCELED', message: '사용자에 의해 결제가 취소되었습니다.', orderId: req.orderId })
              : back(req.successUrl, { paymentType: 'NORMAL', amount: String(amount), orderId: req.orderId, paymentKey: randomKey() });
            return new Promise(() => {});
          },
        };
      },
    };
  };
}());
