# walletd 面向钱包用户的页面。标识符与 en-US 相同。

amount = { $currency } { $number }

site-header = 钱包 · 安全收银台
site-footer = 由 walletd 提供支付服务。请勿向任何人透露您的 PIN。
language = 语言

## Cashier
pay-title = 支付 { $amount }
pay-to = 付款给 { $merchant }
order-reference = 订单号
time-left-label = 剩余时间：
time-left-minutes = { $minutes } 分钟
time-left-seconds = { $seconds } 秒
time-expired = 已过期
pay-by = 请在此时间前支付：
signed-in-as = 当前登录
available-balance = 可用余额
balance-short = 余额不足以支付此笔订单：您的可用余额为 { $balance }。请先充值。
pay-button = 支付 { $amount }
cancel-button = 取消支付
sign-out-button = 不是 { $name }？退出登录
login-label = 手机号或电子邮箱
pin-label = PIN
sign-in-button = 登录并支付
leave-button = 不支付并离开
back-to-merchant = 返回 { $merchant }
state-paid = 已支付
state-paid-text = 此笔支付已完成，不能重复支付。
state-cancelled = 已取消
state-cancelled-text = 此笔支付已取消，无法再支付。
state-expired = 已过期
state-expired-text = 此笔支付未在规定时间内完成。您的钱包未被扣款。
state-failed = 未支付
state-failed-text = 此笔支付失败。您的钱包未被扣款。
receipt = 收据
receipt-payment-id = 支付编号
receipt-paid-at = 支付时间
receipt-amount = 金额
receipt-new-balance = 最新余额

## Notices
notice-wrong-pin = 账号或 PIN 错误。
notice-tries-left = 还可尝试 { $tries } 次，之后将锁定登录。
notice-locked = PIN 错误次数过多：此钱包的登录已被锁定。请联系客服解锁。
notice-frozen = 此钱包账户已被冻结，无法支付。请联系客服。
notice-balance = 您的可用余额不足以支付此笔订单。请充值后再次点击支付。
notice-limit = 此笔支付超出了您钱包的消费限额。
notice-other-user = 此笔支付属于另一位钱包用户。请使用该账户登录。
notice-signin = 请登录后支付。
notice-signin-to-cancel = 只有付款人可以取消支付：请先登录。离开此页面不会改变任何内容。
notice-refused = 钱包无法处理此笔支付。请重试或联系客服。

## Messages
not-found-title = 未找到支付
not-found-text = 此地址没有对应的支付。请返回商户重新开始。
form-expired-title = 表单已过期
form-expired-text = 此表单不是从本浏览器的此页面提交的，因此未执行任何操作。请重新打开页面再试。
open-payment = 打开支付
error-title = 出错了
error-text = 钱包无法完成此步骤。不会重复扣款；请重新打开页面查看状态。
busy-title = 请几秒钟后再试
busy-text = 钱包繁忙，或刚刚收到来自此处的大量登录。您的 PIN 未被校验，也未计入次数。
back-to-payment = 返回支付

## Consent
consent-title = { $merchant } 请求授权
consent-heading = { $merchant } 请求您的授权
consent-mini-program = 小程序 { $app }
consent-may = 如果您同意，{ $merchant } 将可以：
consent-withdraw = 您可以随时撤回此授权；请联系钱包客服。
consent-limit-legend = 无需询问即可扣款的单笔最高金额
consent-limit-amount = 金额
consent-limit-amount-hint = 以主单位填写，例如 50.00 表示五十美元。
consent-limit-currency = 币种（ISO 代码）
consent-limit-currency-hint = 三个字母，例如 USD。
consent-allow = 同意
consent-deny = 不同意
consent-granted = 已授权
consent-granted-may = { $merchant } 现在可以：
consent-granted-code = 请将此代码交给小程序。仅可使用一次，有效期至 { $expires }。
consent-nothing-shared = 未共享任何信息
consent-nothing-shared-text = 您没有授权 { $merchant }。可以关闭此页面。
consent-bad-link = 此链接无效
consent-limit-missing = 请设置小程序无需询问即可扣款的单笔最高金额（币种和金额）。
consent-limit-currency-unknown = 钱包不支持该限额币种（请使用 USD 这样的代码）。
consent-limit-invalid = 限额必须是大于零的金额，例如 50.00。

link-no-client = 此链接未指明小程序（缺少 clientId）。
link-unknown-client = 钱包不认识将您带到此处的小程序。
link-inactive-client = 将您带到此处的小程序未启用。
link-unknown-app = 将您带到此处的小程序未在该商户下注册。
link-unknown-scope = 小程序请求了钱包不提供的内容：{ $detail }。
link-redirect-not-web = 小程序的返回地址不是网址。
link-redirect-unregistered = 小程序要求将您送回一个未在钱包登记的地址，因此本页面不会向该地址发送任何内容。未共享任何信息。
link-too-long = 链接过长。

scope-auth_base = 获取您的钱包用户 ID
scope-auth_user = 查看您的基本资料（钱包中显示的名称、头像、账户状态）
scope-USER_ID = 获取您的钱包用户 ID
scope-USER_NICKNAME = 查看您钱包中显示的名称
scope-USER_NAME = 查看您的全名
scope-USER_AVATAR = 查看您的头像
scope-USER_LOGIN_ID = 查看您的登录账号（部分隐藏）
scope-USER_CONTACTINFO = 查看您的手机号或电子邮箱
scope-AGREEMENT_PAY = 无需每次询问即可从您的钱包扣款，单笔不超过限额

## Payment code
payment-code-title = 到店付款
payment-code-heading = 请在收银台出示此付款码
payment-code-qr-alt = 付款码的二维码
payment-code-expires = 仅可使用一次，有效期至 { $expires }。切勿在电话中向任何人读出此码。
payment-code-again = 获取新的付款码
payment-code-sign-in = 登录后显示一次性付款码。
payment-code-button = 显示我的付款码
