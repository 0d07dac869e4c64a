# The catalogue's questions, notices and emergency stoppers, and the city-wide banner
# (issue 29).
error-invalid_number = Enter a number, for example 3.
error-invalid_datetime = Enter the date and time, for example 06.12.2026 08:30.
error-emergency_call_now = This is an emergency: call { $number } ({ $service }) now. An appeal here is read in working hours. If you have already called, or it is not urgent, you can still send it as non-urgent.
stopper-heading = Call { $number } now
stopper-body = This is an emergency for { $service }: call { $number } (free, from any phone). An appeal sent here is read in working hours, not at once.
stopper-file-anyway = I have called, or it is not urgent: send as a non-urgent appeal
stopper-cancel = Cancel
stopper-agent-script = Emergency: tell the caller to hang up and call { $number } ({ $service }) now. Register the call only if it is not urgent.
question-skip = Skip
question-optional = (optional)
banner-heading = Notice from the city
open311-emergency = This is an emergency: call { $number } ({ $service }) now; a request sent here is read in working hours. Tell the citizen so; if they have called, or it is not urgent, send the request again with attribute[emergency_notice_shown]=true.
open311-emergency-attribute = Set to true once the citizen was told that this may be an emergency to call about (a gas smell: 104; a wire down: 112) and still files it as non-urgent.
questions-for = A few questions if your appeal is about:
