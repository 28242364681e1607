/** Messages of the email pages (en). */
export const emailEn = {
  // The code email. Every placeholder is filled: {service} {code} {minutes} {account}.
  'email.code_subject': '{service} verification code: {code}',
  'email.code_text':
    'Your {service} verification code is:\n\n{code}\n\nIt is valid for {minutes} minutes. It was requested to sign in to, or to confirm a change on, the account {account} at {service}.\n\nIf you did not ask for it, ignore this email and change your password: someone else may know it. Never share this code; nobody at {service} will ask you for it.',
  'email.code_text_bind':
    'Your {service} verification code is:\n\n{code}\n\nEnter it to confirm this address as the recovery address of the account {account} at {service}. It is valid for {minutes} minutes.\n\nIf you did not ask for it, ignore this email: the address will not be added. Never share this code; nobody at {service} will ask you for it.',
  'email.send_failed': 'The email could not be sent. Try again in a few minutes, or use another way.',

  // Settings → Security → Recovery email
  'email.title': 'Recovery email',
  'email.intro': 'Add an address with another provider. Codes for signing in and for confirming changes can then be emailed there, for example when your phone is out of reach.',
  'email.none': 'Not set up',
  'email.current': 'Codes can be emailed to {to}.',
  'email.add': 'Add a recovery address',
  'email.change': 'Change the recovery address',
  'email.address': 'Email address',
  'email.new_address': 'New email address',
  'email.address_hint': 'Use an address with another provider, not one of this mail service, so codes still reach you when you cannot sign in here.',
  'email.send': 'Send code',
  'email.code_sent': 'A code was emailed to {to}.',
  'email.code_sent_page': 'We emailed a 6-digit code to {to}. It is valid for {minutes} minutes; if it does not arrive, look in the spam folder.',
  'email.tries_left': 'Tries left: {count}.',
  'email.confirm': 'Confirm the address',
  'email.other_address': 'Wrong address? Enter another one below.',
  'email.code_wrong': 'The code is incorrect.',
  'email.code_wrong_tries': 'The code is incorrect. Tries left: {count}.',
  'email.code_used_up': 'This code was entered wrongly too many times and no longer works. Request a new code.',
  'email.code_expired': 'The code has expired or was replaced by a newer one. Request a new code.',
  'email.invalid': 'This is not a valid email address. Check it and try again.',
  'email.own_address': 'That is this account’s own address. Enter an address with another provider.',
  'email.inside': 'This address is handled by this mail service. Enter an address with another provider, so codes reach you even when you cannot sign in here.',
  'email.added': 'Recovery address {to} added.',
  'email.changed': 'The recovery address was changed to {to}. Trusted browsers were cancelled.',
  'email.remove': 'Remove the recovery address',
  'email.remove_hint': 'Codes will no longer be emailed there, and trusted browsers are cancelled. If it is your only way to receive codes, two-step verification turns off.',
  'email.remove_required': 'Your administrator requires two-step verification and this is your only second factor. Add another one before removing it.',
  'email.removed': 'The recovery address was removed.',
} as const;
