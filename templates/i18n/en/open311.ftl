# Open311 GeoReport v2: what a client app is told about photos (issue 32).
open311-media-url = media_url is not accepted: the gateway fetches no link it is handed. Send the photo itself as a file named media in a multipart/form-data POST.
open311-media-field = Only photos are taken as files, each in a part named media.
