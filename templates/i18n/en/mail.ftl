# Acknowledgements of the email channel.
mail-ack-subject = Your appeal is received
mail-ack-body = Hello! Your appeal was received on { $registered } (Almaty time) and registered under the number { $tracking }. You will get an answer by { $answer_by } (15 working days).
mail-ack-consent = By sending your mail you consented to the processing of your personal data (clause 7.1 of the Open Almaty personal-data regulation): { $regulation }
mail-ack-not-kept = These attachments were not kept (only photographs are accepted):
    { $files }
mail-ack-reply-hint = To add to your appeal, reply to this mail and keep the number in the subject.
mail-addition-subject = Addition to your appeal received
mail-addition-body = Your addition is attached to the appeal { $tracking }.
mail-marker-opt_out_notifications-subject = You are unsubscribed from notifications
mail-marker-opt_out_notifications-body = Open Almaty will no longer send informational messages to this address.
mail-marker-update_data-subject = Your request to update your personal data is received
mail-marker-update_data-body = Your request to update your personal data is received; the operator will contact you at this address.
mail-marker-withdraw_consent-subject = Your withdrawal of consent is received
mail-marker-withdraw_consent-body = Your withdrawal of consent to the processing of your personal data is received and recorded.
mail-empty-subject = Your mail was empty
mail-empty-body = Your mail had no subject, no text and no photo, so no appeal was registered. Please describe the problem and send it again.
mail-confirm-subject = Please confirm your request
mail-confirm-body = A request "{ $request }" came for this address. We carry it out only if you sent it.
    If it was you, reply to this mail (any text) within { $hours } hours.
    If you sent nothing, do nothing: without a reply nothing changes.
mail-confirm-invalid-subject = Confirmation not taken
mail-confirm-invalid-body = This confirmation was already used, has expired or came from another address, so nothing changed. If you still need the request, send it again.
mail-confirm-kind-withdraw_consent = Withdrawal of consent to the processing of personal data
mail-confirm-kind-opt_out_notifications = Stop informational messages
mail-confirm-kind-update_data = Update of personal data
