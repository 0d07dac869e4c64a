# A form's errors in the field's own words (issue 28, point 2): `error-{rule}-{field}`,
# used before the rule's general `error-{rule}` (errors.ftl) wherever a page names a field.
error-required-category = Choose a category
error-required-text = Describe the problem: what is wrong and since when
error-too_long-text = The description is too long: keep it under 20,000 characters
error-required-address = Enter the address of the problem, or use your location
error-place_required-address = Enter the address of the problem, or use your location: this kind of problem is fixed where it is
error-too_long-address = The address is too long
error-invalid_phone-phone = Enter your phone number, for example 8 701 123 45 67
error-invalid_email-email = Enter your email address, for example name@mail.kz
error-invalid_iin-iin = Enter the 12 digits of the IIN, as on the identity card
error-invalid_date-birth_date = Enter the date of birth as day, month and year, for example 17.05.1990; it cannot be in the future
error-required-title = Enter the name of the proposal
error-required-description = Describe the proposal
error-required-budget_address = Enter the address of the site
error-required-district = Choose the district
error-required-cost = Enter the cost estimate in tenge
error-invalid_value-cost = Enter the cost estimate as a whole number of tenge, for example 1500000
