# Páginas de walletd para los usuarios del monedero. Mismos identificadores que en en-US.

amount = { $number } { $currency }

site-header = Monedero · Pago seguro
site-footer = Pagos con walletd. No compartas nunca tu PIN.
language = Idioma

## Cashier
pay-title = Pagar { $amount }
pay-to = Pago a { $merchant }
order-reference = Referencia del pedido
time-left-label = Tiempo restante:
time-left-minutes = { $minutes ->
    [one] 1 min
   *[other] { $minutes } min
}
time-left-seconds = { $seconds } s
time-expired = caducado
pay-by = pagar antes de las
signed-in-as = Sesión iniciada como
available-balance = Saldo disponible
balance-short = No alcanza para este pago: tu saldo disponible es { $balance }. Recarga tu monedero para pagar.
pay-button = Pagar { $amount }
cancel-button = Cancelar el pago
sign-out-button = ¿No eres { $name }? Cerrar sesión
login-label = Teléfono o correo electrónico
pin-label = PIN
sign-in-button = Iniciar sesión para pagar
leave-button = Salir sin pagar
back-to-merchant = Volver a { $merchant }
state-paid = Pagado
state-paid-text = Este pago está completado. No se puede pagar otra vez.
state-cancelled = Cancelado
state-cancelled-text = Este pago se canceló. Ya no se puede pagar.
state-expired = Caducado
state-expired-text = Este pago no se hizo a tiempo. No se ha cobrado nada de tu monedero.
state-failed = No pagado
state-failed-text = Este pago ha fallado. No se ha cobrado nada de tu monedero.
receipt = Recibo
receipt-payment-id = ID del pago
receipt-paid-at = Pagado el
receipt-amount = Importe
receipt-new-balance = Nuevo saldo

## Notices
notice-wrong-pin = El usuario o el PIN no son correctos.
notice-tries-left = { $tries ->
    [one] Te queda 1 intento antes de que se bloquee el acceso.
   *[other] Te quedan { $tries } intentos antes de que se bloquee el acceso.
}
notice-locked = Demasiados PIN incorrectos: el acceso a este monedero está bloqueado. Contacta con soporte para desbloquearlo.
notice-frozen = Esta cuenta del monedero está congelada y no puede pagar. Contacta con soporte.
notice-balance = Tu saldo disponible no alcanza para este pago. Recarga tu monedero y pulsa Pagar otra vez.
notice-limit = Este pago supera el límite de gasto de tu monedero.
notice-other-user = Este pago es para otro usuario del monedero. Inicia sesión con esa cuenta.
notice-signin = Inicia sesión para pagar.
notice-signin-to-cancel = Solo quien paga puede cancelar un pago: inicia sesión primero. Salir de esta página no cambia nada.
notice-refused = El monedero no pudo aceptar este pago. Inténtalo de nuevo o contacta con soporte.

## Messages
not-found-title = Pago no encontrado
not-found-text = No hay ningún pago en esta dirección. Vuelve al comercio y empieza de nuevo.
form-expired-title = Este formulario ha caducado
form-expired-text = El formulario no se envió desde esta página en este navegador, así que no se hizo nada. Abre la página otra vez y vuelve a intentarlo.
open-payment = Abrir el pago
error-title = Algo ha fallado
error-text = El monedero no pudo terminar este paso. Nada se ha pagado dos veces; abre la página otra vez para ver cómo está.
busy-title = Inténtalo de nuevo en unos segundos
busy-text = El monedero está ocupado o ha recibido muchos inicios de sesión desde aquí. Tu PIN no se ha comprobado y no se ha contado nada.
back-to-payment = Volver al pago

## Consent
consent-title = { $merchant } pide permiso
consent-heading = { $merchant } te pide permiso
consent-mini-program = miniprograma { $app }
consent-may = Si lo permites, { $merchant } podrá:
consent-withdraw = Puedes retirar este permiso cuando quieras; pídeselo al soporte del monedero.
consent-limit-legend = Pago máximo que puede cobrar sin preguntar
consent-limit-amount = Importe
consent-limit-amount-hint = En unidades enteras, por ejemplo 50.00 para cincuenta dólares.
consent-limit-currency = Moneda (código ISO)
consent-limit-currency-hint = Tres letras, por ejemplo USD.
consent-allow = Permitir
consent-deny = No permitir
consent-granted = Permiso concedido
consent-granted-may = { $merchant } ahora puede:
consent-granted-code = Da este código al miniprograma. Sirve una vez, hasta { $expires }.
consent-nothing-shared = No se ha compartido nada
consent-nothing-shared-text = No has dado permiso a { $merchant }. Puedes cerrar esta página.
consent-bad-link = Este enlace no funciona
consent-limit-missing = Indica el pago máximo que el miniprograma puede cobrar sin preguntar (moneda e importe).
consent-limit-currency-unknown = Este monedero no conoce la moneda del límite (usa un código como USD).
consent-limit-invalid = El límite debe ser un importe mayor que cero, como 50.00.

link-no-client = El enlace no indica ningún miniprograma (falta clientId).
link-unknown-client = Este monedero no conoce el miniprograma que te ha enviado aquí.
link-inactive-client = El miniprograma que te ha enviado aquí no está activo.
link-unknown-app = El miniprograma que te ha enviado aquí no está registrado con este comercio.
link-unknown-scope = El miniprograma ha pedido algo que este monedero no ofrece: { $detail }.
link-redirect-not-web = La dirección de vuelta del miniprograma no es una dirección web.
link-redirect-unregistered = El miniprograma ha pedido enviarte a una dirección que no ha registrado en este monedero, así que esta página no enviará nada allí. No se ha compartido nada.
link-too-long = El enlace es demasiado largo.

scope-auth_base = Conocer tu identificador de usuario del monedero
scope-auth_user = Ver tu perfil básico (nombre en el monedero, avatar, estado de la cuenta)
scope-USER_ID = Conocer tu identificador de usuario del monedero
scope-USER_NICKNAME = Ver el nombre que muestra tu monedero
scope-USER_NAME = Ver tu nombre completo
scope-USER_AVATAR = Ver tu avatar
scope-USER_LOGIN_ID = Ver tu usuario, enmascarado
scope-USER_CONTACTINFO = Ver tu teléfono o tu correo electrónico
scope-AGREEMENT_PAY = Cobrar de tu monedero sin preguntar cada vez, hasta un límite por pago

## Payment code
payment-code-title = Pagar en una tienda
payment-code-heading = Muestra este código en la caja
payment-code-qr-alt = Código QR de tu código de pago
payment-code-expires = Sirve una vez, hasta las { $expires }. No se lo leas nunca a nadie por teléfono.
payment-code-again = Obtener un código nuevo
payment-code-sign-in = Inicia sesión para ver un código de pago de un solo uso.
payment-code-button = Mostrar mi código de pago
