# Confirming a contact the citizen typed (issue 30): the notice carries no content of
# the appeal or the answer, only the tracking number and the way to confirm.
confirm-contact-notice-email = An answer to your appeal { $tracking } is ready. To receive it at this address, confirm that it is yours: { $link } — if you did not write to Open Almaty, ignore this message.
confirm-contact-notice-sms = Open Almaty: an answer to { $tracking } is ready. Code { $code }, enter it at { $link }
confirm-contact-title = Confirm your contact
confirm-contact-intro = Enter the code we sent to the email address or phone number you gave with appeal { $tracking }. The answer is sent there once the contact is confirmed.
confirm-contact-code = Code
confirm-contact-submit = Confirm
confirm-contact-done = Thank you: your contact is confirmed. The answer to appeal { $tracking } is on its way to it.
confirm-contact-wrong = This code is not right. Check the message and try again.
confirm-contact-too-many = Too many wrong codes. Try again in an hour.
confirm-contact-unknown = No code is waiting for this appeal.
confirm-contact-link = Confirm your email or phone to receive the answer
confirm-contact-answers = The answer to your appeal
confirm-contact-done-early = Thank you: your contact is confirmed. The answers to appeal { $tracking } will come to it.
# The acknowledgement at intake (issue 30): the number and the way to confirm, nothing of the appeal.
confirm-contact-ack-email = Your appeal { $tracking } is registered. To receive the answers at this address, confirm that it is yours: { $link } — if you did not write to Open Almaty, ignore this message.
confirm-contact-ack-sms = Open Almaty: appeal { $tracking } received. Code { $code }, enter it at { $link }
