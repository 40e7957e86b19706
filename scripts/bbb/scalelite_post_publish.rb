#!/usr/bin/ruby
# frozen_string_literal: true

# BigBlueButton runs only post_publish/*.rb, and runs them with ruby; this hands
# the arguments (-m <record_id> [-f <format>]) to the shell implementation next
# to the other core scripts. See docs/recording-transfer.md.
script = ENV.fetch('SCALELITE_POST_PUBLISH', File.expand_path('../scalelite-post-publish.sh', __dir__))
# The [path, argv0] form never goes through a shell.
exec([script, script], *ARGV)
