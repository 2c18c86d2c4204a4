# walletd's pages for wallet users. Each message id is used by crates/server/templates/*.html or
# crates/server/src/{cashier,consent}.rs. Keep every id in every language.

# An amount: $number is already formatted for the language, $currency is an ISO 4217 code.
amount = { $number } { $currency }

site-header = Wallet · Secure checkout
site-footer = Payments by walletd. Never share your PIN.
language = Language

## Cashier
pay-title = Pay { $amount }
pay-to = Pay to { $merchant }
order-reference = Order reference
time-left-label = Time left:
time-left-minutes = { $minutes ->
    [one] 1 min
   *[other] { $minutes } min
}
time-left-seconds = { $seconds } s
time-expired = expired
pay-by = pay by
signed-in-as = Signed in as
available-balance = Available balance
balance-short = Not enough for this payment: your available balance is { $balance }. Top up your wallet to pay.
pay-button = Pay { $amount }
cancel-button = Cancel payment
sign-out-button = Not { $name }? Sign out
login-label = Phone number or e-mail
pin-label = PIN
sign-in-button = Sign in to pay
leave-button = Leave without paying
back-to-merchant = Back to { $merchant }
state-paid = Paid
state-paid-text = This payment is complete. It cannot be paid again.
state-cancelled = Cancelled
state-cancelled-text = This payment was cancelled. It cannot be paid any more.
state-expired = Expired
state-expired-text = This payment was not paid in time. Nothing was taken from your wallet.
state-failed = Not paid
state-failed-text = This payment failed. Nothing was taken from your wallet.
receipt = Receipt
receipt-payment-id = Payment ID
receipt-paid-at = Paid at
receipt-amount = Amount
receipt-new-balance = New balance

## Notices
notice-wrong-pin = The login or PIN is wrong.
notice-tries-left = { $tries ->
    [one] 1 try left before sign-in is locked.
   *[other] { $tries } tries left before sign-in is locked.
}
notice-locked = Too many wrong PINs: sign-in to this wallet is locked. Contact support to unlock it.
notice-frozen = This wallet account is frozen and cannot pay. Contact support.
notice-balance = Your available balance is not enough for this payment. Top up your wallet, then press Pay again.
notice-limit = This payment is above your wallet's spending limit.
notice-other-user = This payment is for another wallet user. Sign in with that account.
notice-signin = Please sign in to pay.
notice-signin-to-cancel = Only the payer can cancel a payment: sign in first. Leaving this page changes nothing.
notice-refused = The wallet could not take this payment. Try again, or contact support.

## Messages
not-found-title = Payment not found
not-found-text = There is no payment at this address. Go back to the merchant and start again.
form-expired-title = This form has expired
form-expired-text = The form was not sent from this page in this browser, so nothing was done. Open the page again and retry.
open-payment = Open the payment
error-title = Something went wrong
error-text = The wallet could not finish this step. Nothing was paid twice; open the page again to see where it stands.
busy-title = Please try again in a few seconds
busy-text = The wallet is busy or has seen many sign-ins from here just now. Your PIN was not checked and nothing was counted.
back-to-payment = Back to the payment

## Consent
consent-title = { $merchant } asks for permission
consent-heading = { $merchant } asks for your permission
consent-mini-program = mini program { $app }
consent-may = If you allow it, { $merchant } may:
consent-withdraw = You can withdraw this permission at any time; ask the wallet's support.
consent-limit-legend = Largest payment it may take without asking
consent-limit-amount = Amount
consent-limit-amount-hint = In major units, for example 50.00 for fifty dollars.
consent-limit-currency = Currency (ISO code)
consent-limit-currency-hint = Three letters, for example USD.
consent-allow = Allow
consent-deny = Don't allow
consent-granted = Permission granted
consent-granted-may = { $merchant } may now:
consent-granted-code = Give this code to the mini program. It works once, until { $expires }.
consent-nothing-shared = Nothing was shared
consent-nothing-shared-text = You did not allow { $merchant }. You can close this page.
consent-bad-link = This link does not work
consent-limit-missing = Set the largest payment the mini program may take without asking (currency and amount).
consent-limit-currency-unknown = The currency of the limit is not one this wallet knows (use a code like USD).
consent-limit-invalid = The limit must be an amount greater than zero, like 50.00.

link-no-client = The link names no mini program (clientId is missing).
link-unknown-client = The mini program that sent you here is not known to this wallet.
link-inactive-client = The mini program that sent you here is not active.
link-unknown-app = The mini program that sent you here is not registered with this merchant.
link-unknown-scope = The mini program asked for something this wallet does not offer: { $detail }.
link-redirect-not-web = The return address of the mini program is not a web address.
link-redirect-unregistered = The mini program asked to send you back to an address it has not registered with this wallet, so this page will not send anything there. Nothing was shared.
link-too-long = The link is too long.

scope-auth_base = Know your wallet user id
scope-auth_user = See your basic profile (name shown in the wallet, avatar, account status)
scope-USER_ID = Know your wallet user id
scope-USER_NICKNAME = See the name shown in your wallet
scope-USER_NAME = See your full name
scope-USER_AVATAR = See your avatar
scope-USER_LOGIN_ID = See your login, masked
scope-USER_CONTACTINFO = See your phone number or e-mail address
scope-AGREEMENT_PAY = Take payments from your wallet without asking each time, up to a limit per payment

## Payment code
payment-code-title = Pay in a shop
payment-code-heading = Show this code at the till
payment-code-qr-alt = QR code of your payment code
payment-code-expires = Works once, until { $expires }. Never read it out to anyone on the phone.
payment-code-again = Get a new code
payment-code-sign-in = Sign in to show a one-time payment code.
payment-code-button = Show my payment code
