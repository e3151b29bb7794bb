"""Two people in two browsers: a real call, seen and heard on both sides."""


def test_two_people_see_and_hear_each_other(person, room):
    ana, ben = person("ana"), person("ben")
    ana.join(room)
    ana.expect_state("waiting")
    ben.join(room)
    for someone in (ana, ben):
        someone.expect_state("connected")
    for someone, other in ((ana, ben), (ben, ana)):
        someone.wait_for_remote_frames(30)
        someone.wait_for_remote_video_size(other.camera_size())
        someone.wait_for_sound()
