# The bot's dialogue (Telegram, WhatsApp). The keys are the same in kk, ru and en.
bot-greeting = Hello! This is Open Almaty: you can send an appeal to the Almaty city administration here. Choose a language.
bot-consent = To take your appeal we need your consent to the processing of your personal data (name, phone, photos) under the Open Almaty Regulation: { $url }
    Do you agree?
bot-button-agree = I agree
bot-button-decline = No
bot-declined = Understood. Without consent we cannot take an appeal, and we have kept nothing. If you change your mind, send /start.
bot-ask-category = What is your appeal about? Choose a category.
bot-ask-text = Describe the problem in your own words.
bot-ask-location = Where is it? Share a location or type the address.
bot-button-share-location = Share location
bot-ask-photos = You may attach photos (up to { $max }). When you are done, press "Done".
bot-button-photos-done = Done
bot-photo-added = Photo added ({ $count }).
bot-photo-too-large = The photo is larger than { $limit } MB and cannot be taken. Your text is kept; you may send a smaller photo.
bot-photo-unavailable = The photo could not be fetched. Your text is kept; please send the photo again.
bot-photos-full = No more photos can be attached.
bot-ask-contact = Share your phone number with the button below or type it, e.g. +7 701 123 45 67.
bot-button-share-contact = Share my number
bot-invalid-phone = That number could not be read. Type it, e.g. +7 701 123 45 67.
bot-ask-name = How should we address you? Type your surname and first name.
bot-summary = Please check your appeal:
    Category: { $category }
    Text: { $text }
    Place: { $location }
    Photos: { $photos }
    Phone: { $phone }
    Name: { $name }
bot-button-send = Send
bot-button-edit = Edit
bot-button-cancel = Cancel
bot-sent = Your appeal was received on { $registered } (Almaty time), category: { $category }. Tracking number: { $tracking }. The answer is due by { $answer_by } and will come to this chat.
bot-cancelled = The appeal is cancelled and the draft deleted.
bot-status-none = You have no appeals yet.
bot-status-line = { $tracking }: { $state }. Answer due by { $deadline }.
bot-status-accepted = accepted
bot-status-unavailable = registered; the status cannot be shown right now, try again in a few minutes
bot-revoked = Consent withdrawn. The data of this dialogue is erased and the request is passed to the operator.
bot-stopped = Notifications are turned off.
bot-use-buttons = Please choose an option with a button (or its number).
bot-need-text = Please type the text as a message.
bot-invalid = The appeal could not be accepted: please check the details and try again.
bot-choice-hint = Answer with the number of an option.
bot-voice-not-accepted = Voice and video messages can't be accepted under the personal-data rules. Please type your message, or send a photo.
bot-kind-not-accepted = This kind of message can't be accepted here. Please type your message, or send a photo.
bot-unknown-command = Unknown command. The commands are /start, /status, /language, /cancel, /stop and /revoke.
bot-group-invite = Appeals are taken only in a private chat, so that your contacts stay private. Please write to me directly.
bot-button-categories = Categories
bot-button-more = Other…
