"""The call page's features beyond the call itself: chat, devices, screen share, stats,
layout and keyboard use. Two fake-media people, as everywhere."""

from playwright.sync_api import expect


def say(someone, text):
    box = someone.page.get_by_label("Message")
    box.fill(text)
    box.press("Enter")


def test_chat_messages_arrive_both_ways_in_order_and_are_marked_delivered(call):
    ana, ben = call
    for someone in call:
        someone.click("Chat")
        expect(someone.page.get_by_label("Message")).to_be_enabled()
    for text in ("one", "two", "three"):
        say(ana, text)
    say(ben, "got them all")
    expect(ben.page.locator("#chat-messages li.them")).to_have_text(["one", "two", "three"])
    expect(ana.page.locator("#chat-messages li.them")).to_have_text(["got them all"])
    expect(ana.page.locator("#chat-messages li.me.delivered")).to_have_count(3)
    expect(ben.page.locator("#chat-messages li.me.delivered")).to_have_count(1)


def test_chat_closes_when_the_other_leaves(call):
    ana, ben = call
    ana.click("Chat")
    expect(ana.page.get_by_label("Message")).to_be_enabled()
    ben.hang_up()
    expect(ana.page.get_by_label("Message")).to_be_disabled()
