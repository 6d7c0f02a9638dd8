"""The utterance layer: what a message typed on a phone asks for, before the router's door.

    text as typed
      -> Aligned: NFKC, lower case, variation selectors and zero-width characters gone, spaces
         folded; for MATCHING only, every character remembers where it came from, so the
         arguments a handler gets are the text as typed (full-width punctuation kept)
      -> set aside: a quoted message (a reply), leading @-mentions of the bot under any display
         name, command marks (/ ! #)
      -> Command(route, args): a route's word or phrasing, longest first
      -> Clarify(route): a phrase that only suggests a route (「👍」「我同意」), or a loosely typed
         form (a filler before it, spaces inside it) of a route that records a ballot
      -> Unknown: the caller answers with the nearest commands (`settle`)

Rules:

1. Routes are the single source of truth: their `words` and `phrasings` run the command, their
   `confirm` phrases only ask (see bot/router.py `Route`).
2. A ballot is recorded only from an unambiguous vote phrase: a route with `exact=True` runs
   from its words and phrasings typed plainly (decoration such as 「！」「🙏」 after them is
   allowed); with a filler before it (「我同意」), spaces inside it or a confirm phrase, the
   answer is a one-tap question, never a ballot and never silence.
3. Confirm phrases match only the whole message (「好的，收到」 is not 「好的」).
4. Latin phrasings end at a word boundary (「help」 is not 「helpless」).
5. Nearest commands: edit distance on the characters and on the pinyin (pypinyin), over the
   commands this person may use in the meeting's present phase.
6. A ballot that does not say which choice is asked which, suggesting none: agreeing with someone
   (「附议」「同意楼上」, a quoted 「刘洋：反对…」 answered 「同意」), or 「我不反对」 (赞成 or 弃权);
   a view said instead of a ballot's word is asked back the way it points (「原则同意」,
   「我觉得不行」, 「反对意见保留，弃权」).
"""

from __future__ import annotations

import dataclasses
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache, partial
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

# The pinyin of single characters is all the matching needs (command words and what was typed
# are compared sound by sound). pypinyin's phrase dictionary (words read differently from their
# characters) would add about 55 MB to every process, and a copy of each dictionary more; these
# switches are read when pypinyin is first imported. The phrasing corpus reads the same either way.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")

from pypinyin import lazy_pinyin
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot import governance as g
from bot.timeparse import Hourless, ParsedTime, parse_hourless, parse_leading_time, small_number

if TYPE_CHECKING:
    from bot.router import Route

# Dropped before matching: zero-width characters, variation selectors, skin tones.
_INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u2060\ufeff\ufe0e\ufe0f" + "".join(chr(c) for c in range(0x1F3FB, 0x1F400))
)
_COMMAND_MARKS = "/!#"
_QUOTE_SEPARATOR = re.compile(r"(?:-[ \t]?){4,}|(?:—[ \t]?){2,}")
# After a confirm phrase these still leave it whole (「可以的」「好吧」).
_PARTICLES = "的啊呀哈吧了滴呢嘛哦噢"
# Before the arguments of a message that ends with its command (Route.last): left out.
# 「组长，」 addresses the leader, with its comma: 「组长出差」 is a reason.
_APOLOGIES = (
    "抱歉",
    "不好意思",
    "对不起",
    "sorry",
    "大家好",
    "各位好",
    "各位领导",
    "各位",
    "组长，",
    "组长,",
)
_SEPARATORS = ",，、;；:：.。!！ "
# How sure one is, said before a Route.last word (「我可能」「我估计会」).
_SURE = r"(?:我|本人)?(?:可能|估计|恐怕|也许|大概|应该|怕是|看来|真的)"
# A day said (「今天」「周六」「5号」「12月13号下午」「十三号」): which meeting, no reason.
_NUMBER_SAID = r"(?:[0-9]{1,2}|[一二两三四五六七八九十]{1,3})"
_DAY_SAID = (
    r"(?:(?:今天|明天|后天|那天|当天|这次|本次|届时|到时候?|(?:下|这|本)?(?:周|星期|礼拜)[一二三四五六日天]"
    rf"|(?:{_NUMBER_SAID} ?月)?{_NUMBER_SAID} ?(?:号|日))(?:的?(?:上午|下午|晚上))?|上午|下午|晚上)"
)
# Only which meeting or day, who and how sure, before a Route.last word (「我可能去不了」「这个会我估计」
# 「那天我可能」「我今天」「5号我」「12月13号的会我」): no arguments.
_HEDGE = re.compile(
    rf"(?:(?:我|本人)?(?:(?:这个|这次|本次)会议?|(?:{_DAY_SAID}|(?:下|这|本)?(?:周|星期|礼拜))(?:的会议?)?)"
    rf"[,，]?)?(?:{_SURE}|我|本人)?(?:会|要)?"
)
# How sure, said last before the word (「那天我要去医院，可能来不了」): not part of the reason.
_TRAILING_HEDGE = re.compile(
    rf"(?:[,，\s]*(?:{_SURE}(?:会|要)?|(?:我|本人)?先"
    r"|(?:今天|明天|后天|这次|本次|这个|那天|当天)的?会议?)"  # 「临时有事，今天的会参加不了」
    r"|[,，\s]+(?:我|本人))$"  # 「单位有急事，我先走了」
)
# How a command is done, asked right after its words (「年度总结怎么交」).
_HOW = re.compile(r"(?:要|该|应该)?(?:怎么(?!样)|如何|怎样)")
# A view said right after a command's words, which name its object then (「年度总结我没意见」).
_A_VIEW_ON_IT = re.compile(
    r"(?:我|本人)?(?:个人)?(?:没有?(?:什么|啥)?意见|无意见|没问题|有意见|建议)"
)
# How many, asked after a command's words (「开会要到多少人才算数」): a question, never the command.
_HOW_MANY = re.compile(r"多少|几个|几票|几人|几位")
# Words that ask, after a command's words: a frame that only shows may read the whole message
# (「开会讨论哪些议题」 is the agenda).
_ASKS = re.compile(rf"什么|哪些|哪个|啥|{_HOW_MANY.pattern}")
# Asking when (「年度总结最晚哪天交」).
_WHEN_ASKED = re.compile(r"哪天|几号|几时|何时|什么时候|多久|多长时间")
# Asking someone something, after a filing's words (「请示一下刘老师，换届能不能推迟」): no filing.
_ASKING = re.compile(r"能不能|可不可以|要不要|是不是|是否|吗|来着|[?？]")
# Said not to be done, right before a Route.last word (「不请假了」「不用请假」).
_NEGATED = re.compile(r"(?:不|没|别|不用|不必|无需|不需要|撤销|取消)$")
# Done for someone else (「让我帮他请个假」「替王强请假」「给他请个假」): no one's own leave.
# Passed on from someone else (「刘洋请假了，他让我跟大家说一下」「赵敏说她那天来不了」) too, but
# not what someone said of the speaker (「领导说他需要我陪同出差」: the speaker's own).
_FOR_ANOTHER = re.compile(
    r"(?:帮|替|代|给)(?:他|她|[^\s,，。我]{2,3}?)(?:请个?假|请一下假)|(?:他|她)(?:让|叫|托|请)我"
    r"|说(?:他|她)(?![^,，。]*我)"
)


def for_another(said: str) -> bool:
    """Whether `said` asks for someone else's leave or passes one on (「帮杨帆请个假」「替他请假」
    「刘洋请假了，他让我跟大家说一下」): never the speaker's own leave."""
    return _FOR_ANOTHER.search(matching_form(said)) is not None


# Thanks said after what is asked (「1号收到了，谢谢」「批准2，辛苦了」).
_THANKS_AFTER = re.compile(r"[,，。.!！\s]*(?:谢谢|多谢|感谢|辛苦了|辛苦)(?:您|你|大家|啦)?$")
# Someone asked to do it (「张伟帮我请个假」): no reason given.
_ON_BEHALF = re.compile(r"(?:请|麻烦)?[^,，。]{0,6}?(?:帮|替|给)我(?:一下)?")
# What may follow the words of a route that records a ballot: a choice word (after 投票), an item
# number (「2」「第2项」「议题2」「#2」) or a card's vote id (「表决#7」), then a society's name
# (a private ballot of a member of several societies names its society); anything else is asked
# back.
_BALLOT_ARGS = re.compile(
    r"(?:(?:赞成|同意|反对|不同意|弃权)\s*)?"
    r"(?:第?\s*(?:议题)?\s*#?\s*\d{1,3}\s*(?:项|号|个议题)?|第\s*[一二两三四五六七八九十]{1,3}\s*(?:项|个议题)"
    r"|议题\s*[一二两三四五六七八九十]{1,3}|表决#\d+)?"
    r"(?:\s*[^\s\d#]\S{0,38}?(?:学会|协会|研究会|学社|联合会))?"
)
# An item named without 对/就 before a Route.after verb: 「议题2」「第一项」「2号议题」.
ITEM_REF = r"(?:议题 ?[0-9一二三四五六七八九十两]+|第 ?[0-9一二三四五六七八九十两]+ ?(?:项|个议题)|[0-9]+ ?号议题)"
# The item the meeting is on, said as such (「这个议题」「这一项」): the handlers read it as the
# item the chair turned to (handlers.common.item_in_focus).
THIS_ITEM = r"(?:(?:这个|这一|这|该|本|此)(?:议题|项|问题|事项)|这件事|这事|此事)"
# An item's title said bare before a way of voting (「换届人选无记名投票」「预算举手表决吧」): not
# who votes or when (「大家举手表决」「现在记名表决」, which are the phrasings).
_TITLED = (
    r"(?!请|大家|我们|现在|下面|那|开始|进行|采用|先|再|就|对|把|用)[^,，。.;；!！?？:：\s]{2,12}?"
    r"(?=(?:进行|采用|用)?(?:举手表决|记名表决|无记名表决|无记名投票))"
)
# A ballot said after the item it is on (「第二项我赞成」「这个议题我弃权」「议题2我投赞成票」).
_BALLOT_ON = re.compile(
    rf"(?P<item>{ITEM_REF}|{THIS_ITEM}|这个)[,，\s]*(?:我|本人)?(?:就|也)?(?:投)?"
    r"(?P<choice>不同意|同意|赞成|反对|弃权)票?"
)
_THIS_ITEM_SAID = re.compile(rf"{THIS_ITEM}|这个")
# The ballots a question back lists (Clarify.choices): all three, or, after 「我不反对」, those it
# may mean.
_ALL_CHOICES = ("赞成", "反对", "弃权")
_NOT_NO = ("赞成", "弃权")
# Agreeing with someone instead of saying a choice: 「我同意刘洋的意见」「同意楼上」「附议」「同上」
# 「跟楼上一样」 (not 「同意这个建议」「同意李娜的提议」, which name what is voted on or proposed).
_AGREEING_WITH = re.compile(
    r"(?:我|本人)?(?:也)?(?:"
    r"(?:同意|赞成|赞同|支持|附议)(?P<whose>楼上|上面|上楼|[\u4e00-\u9fff]{1,4}?(?=(?:同志|老师|组长)?的(?:意见|看法|观点|说法)))"
    r"(?:同志|老师|组长)?(?:的(?:意见|看法|观点|说法))?"
    r"|附议|同上|楼上\+?1|\+1楼上|(?:跟|和|同)(?P<same>楼上|上面|前面)一样"
    r")(?:[,，。!！\s]*\+1)?[了的吧啊]*"
)
# 「我不反对」「不反对，但…」「没有反对意见」: not against, which is 赞成 or 弃权, never 反对.
_NOT_AGAINST = re.compile(
    r"(?:我|本人)?(?:也)?(?:并|倒)?(?:不|没有?)(?:持)?反对(?:意见)?(?:的)?(?:[,，;；。\s]|$)"
)
# 「原则同意」「基本同意，建议进一步细化」「原则上不同意」: a ballot qualified, asked back as it points.
_QUALIFIED = re.compile(
    r"(?:我|本人)?(?:原则上?|基本上?|总体上?|大体上?|整体上?)(?:(?P<no>不同意|不赞成|反对)|同意|赞成|支持|认可)"
    r"(?:[,，;；。!！\s]|$)"
)
# 「我觉得不行」「我看可以」「个人认为没问题」: a view of the item, asked back as it points.
_I_THINK = re.compile(
    r"(?:我|本人)?(?:个人)?(?:觉得|认为|感觉|看)(?:这个|此|该)?(?:方案|议题|事情?)?(?:还是|也)?"
    r"(?:(?P<no>不行|不可以|不妥|不合适|不太行|不太合适|不可行|不同意|不赞成)|行|可以|没问题|可行|挺好|很好)"
    r"(?:的)?[吧啊呀]*"
)
# 「反对意见保留，弃权」「保留意见，弃权」: a view kept to oneself, then the ballot that is cast.
_RESERVED = re.compile(
    r"(?:我|本人)?(?:保留(?:反对|不同|个人)?意见|(?:反对|不同|个人)?意见保留)(?:[,，;；。\s]+)"
)
# A quoted message that voices a view (no ballot word of its own read from it).
_A_VIEW = re.compile(
    r"意见|建议|觉得|认为|看法|观点|同意|赞成|反对|支持|弃权|不行|不妥|可以|没问题"
)
# A count of a choice, either way round: 「赞成4」「赞成：4票」「4票赞成」「五个赞成」「一票弃权」.
_COUNTED = re.compile(
    rf"(?P<a>不同意|同意|赞成|反对|弃权)(?:票)?\s*[:：]?\s*(?P<n>{_NUMBER_SAID})\s*(?:票|人|个|位)?"
    rf"|(?P<m>{_NUMBER_SAID})\s*(?:票|人|个|位)\s*(?P<b>不同意|同意|赞成|反对|弃权)"
)
_NUMERAL = re.compile(r"[0-9]+|[一二两三四五六七八九十]+")
_CHOICE_WORD = {"同意": "赞成", "赞成": "赞成", "不同意": "反对", "反对": "反对", "弃权": "弃权"}
# 「这个议题」 said after an item's title (「会员发展这个议题」): the title says which.
_THIS_ITEM_AFTER = re.compile(rf"[,，\s]*{THIS_ITEM}[,，\s]*$")
# An object that is an item by number or the one in focus, not a title (「对议题2进行表决」).
_AN_ITEM = re.compile(rf"(?:{ITEM_REF}|{THIS_ITEM})(?:议题)?")
# What holds a command off when it follows its words: 「开会等一下，还有人没到」「签发先不要」
# 「取消会议算了」 are asked back like a question (Route.shows).
_HOLD_OFF = re.compile(
    r"^\s*(?:先不|先别|别急|不要|不用|暂时不|暂不|等一下|等一等|等等|稍等|先等|再等|还不|还没|算了|不了"
    r"|晚点再|回头再|以后再|忘了|忘记)"
)
# Right after a command's words, a time around it (「签发之前」「开会前」「散会后」), not the
# command; 后天 and 前天 are days (「召开会议后天下午3点」).
_BEFORE_OR_AFTER = re.compile(r"(?:之前|以前|之后|以后|前(?!天)|后(?!天))")
# Right after a command's words, 「的」 makes them a noun (「签发的事我明天再说」「散会的时候…」
# 「开会的材料都发群里了」「更改地点的话…」): talked about, not done.
# 「同意的」「可以的呀」 end with a particle. 「提醒一下没回复的人」 says whom to remind; a ballot's
# word so said is not cast (「反对的人说说理由」「同意的请回复赞成」).
_SPOKEN_OF = re.compile(rf"的(?![{_PARTICLES}])[\u4e00-\u9fff]")
# 「举手的有5个」「没回复的人」: whom or how many, not the command's words made a noun
_WHOM = re.compile(r"的(?:有|(?:人|成员|同志)们?(?:有|$|[,，。!！吧]))")
# A command's words said as a topic (「请假要提前说」「签字这块陈静负责」): no command.
_ABOUT_IT = re.compile(
    r"(?:要|需要|得|必须|应该)(?:提前|先|跟|向|找|和|写|交|填|注意)|记得|这块|这一块|这方面|方面|这个环节"
)
# A noun the command's words run into (「签字笔」「请假条」「签到表」「取消会议室预订」「补充议题材料」):
# what is talked about, no command.
_GLUED_NOUN = re.compile(
    r"(?:签字|签名)(?:笔|板|页|处|栏)|请假(?:条|单(?!位))|签到(?:表|本|处|簿|机|册|单)"
    r"|会议(?:室|厅|桌)|打卡(?:机|记录)|议题材料"
)
# A correction said after a command's words (「暂缓 3，不对，是第2项」「设置记录人 @刘洋，哦不对是杨帆」).
_CORRECTED = re.compile(r"(?:不对)+[,，\s]|哦不对|不是[,，]|说错了|搞错了")
# What a correction takes back: a number or someone @-mentioned (a note's own 「不对」 is kept).
_CORRECTED_WHAT = re.compile(r"#?第?[0-9一二三四五六七八九十]{1,3}[号项]?|@\S{1,16}")
# A condition, then what is to be done (「第一项大家没意见的话就举手表决吧」), the item said first.
_IF_THEN = re.compile(
    rf"(?P<item>{ITEM_REF})?[,，\s]*[^,，。]{{1,16}}?的话[,，\s]*(?:就|那就|那么|那)?(?P<then>\S.*)"
)
# A command's words said again at once (「收到收到」「赞成，赞成」): said once.
_SAID_TWICE = re.compile(r"(\S{2,4}?)(?:[\s,，、!！.。]*\1)+")
# 「暂缓一下，等王强回来再投」: a moment's wait, asked back.
_A_MOMENT = re.compile(r"^一下[,，\s]*(?:等|先|稍)")


# What starts a command's arguments as its usage writes them, in the matching form: a space, a
# colon (「：」 is folded to 「:」) or a title in quotes (「年度总结《2026年度工作总结》」).
_USAGE_OPENS = " :《「“\"'"


# 「请示一下组长，…」: asking someone here, not a filing with the committee.
# Someone addressed in the group (「张组长」「刘老师」「大家」): read here, in a filing's title and in
# a leave's greeting.
ADDRESSEE = (
    r"[张王李刘陈杨赵黄周吴徐孙胡朱高林何郭马罗]?"
    r"(?:组长|书记|领导(?!小组)|老师|主任|会长|理事长|秘书长|部长)|大家|各位"
)
_TO_SOMEONE = re.compile(rf"^(?:一下)?(?:{ADDRESSEE})(?![会议工作的])")


def _spaced(after: str) -> bool:
    """Whether the text after a command's words starts as its usage (_USAGE_OPENS) or with 一下
    (「备案一下工作规则」), and asks nothing (「请示一下刘老师，换届能不能推迟」 is a question to
    someone)."""
    if not after:
        return True
    if _TO_SOMEONE.match(after.lstrip(" :")):  # 「报告 张组长，…」: said to someone here
        return False
    if after[0] in _USAGE_OPENS:  # as the usage writes it: a 请示 may well ask (「…能否推迟？」)
        return True
    if _ASKING.search(after) or _HOW_MANY.search(after):
        return False
    return after.startswith("一下") and after[2:3] not in ",，"


# 「一下」 after a command's words (「报告一下 …」「请假一下，出差」) belongs to the verb.
# 「报告一下，…」「书面意见如下：…」「我的书面意见是：…」: no part of the arguments
_COMPLEMENT = re.compile(r"^(?:一下|如下|(?:是|为)(?=\s*[:：]))[\s,，:：、]*")
_PARTICLE_CLAUSE = re.compile(rf"^[{_PARTICLES}]+(?=[,，、;；:：。])")
# Asking about someone (「谁有事」「哪位要出差」): no one's own leave.
_WHO = re.compile(r"谁|哪位|哪个人|哪些人")
# What makes the words after a command a question: a question mark or particle at the end, or a
# question word first (Route.shows).
_QUESTION = re.compile(
    r"(?:[?？]|吗|么|呢|谁|没有?)[\s?？!！。.~…]*$"
    r"|^\s*(?:什么时候|什么|是什么|多久|几号|几时|哪天|何时|怎么|如何|是不是|是否|有没有|要不要|能不能"
    r"|可不可以|可以吗|的话|要怎么|该怎么|应该怎么|需要什么|要什么|要哪些|需要哪些)"
)
_QUOTES = {"「": "」", "“": "”", '"': '"', "『": "』", "《": "》"}
# Said before a command without changing it; a vote said after one of these is asked back.
FILLERS = (
    "你好",
    "您好",
    "好的",
    "好滴",
    "好",
    "嗯嗯",
    "嗯",
    "哦",
    "噢",
    "那就",
    "那个",
    "那",
    "ok",
    "okay",
    "请帮我",
    "帮我",
    "麻烦",
    "请",
    "我要",
    "我想",
    "我来",
    "我们",
    "我也",
    "我",
    "也",
    "现在",
    "下面",
    "接下来",
    "马上",
    "这就",
    "就",
    "先",
    "另外",
    "再",
    "老师",
    "小助手",
    "帮我看看",
    "帮我查一下",
    "看看",
    "看一下",
    "查一下",
)


@dataclass(frozen=True, slots=True)
class Aligned:
    """`text` is the matching form of `original`; `starts[i]` is where text[i] came from
    (with one more entry: the end of the original)."""

    original: str
    text: str
    starts: tuple[int, ...]

    def tail(self, i: int) -> str:
        """The original text from matching position i, stripped."""
        return self.original[self.starts[i] : self.starts[-1]].strip()

    def drop(self, i: int) -> Aligned:
        """The text without its first i matching characters (and the spaces after them)."""
        while i < len(self.text) and self.text[i] == " ":
            i += 1
        return Aligned(self.original, self.text[i:], self.starts[i:])

    def compact(self) -> Aligned:
        """Spaces inside removed (「请 假」 is 「请假」)."""
        keep = [i for i, ch in enumerate(self.text) if ch != " "]
        return Aligned(
            self.original,
            "".join(self.text[i] for i in keep),
            (*(self.starts[i] for i in keep), self.starts[-1]),
        )


def align(original: str) -> Aligned:
    """The matching form of a text, each character tied to where it came from."""
    chars: list[str] = []
    starts: list[int] = []
    for index, ch in enumerate(original):
        if ch in _INVISIBLE:
            continue
        for out in unicodedata.normalize("NFKC", ch).lower():
            if out.isspace():
                if not chars or chars[-1] == " ":
                    continue
                out = " "
            chars.append(out)
            starts.append(index)
    while chars and chars[-1] == " ":
        chars.pop()
        starts.pop()
    return Aligned(original, "".join(chars), (*starts, len(original)))


def matching_form(text: str) -> str:
    return align(text).text


def is_decoration(text: str) -> bool:
    """Only punctuation, symbols (emoji) and spaces: nothing a command could read."""
    return all(unicodedata.category(ch)[0] in "PSZ" or ch in _INVISIBLE for ch in text)


def _undecorated(text: str) -> str:
    """The text without the punctuation, emoji and spaces at its end."""
    end = len(text)
    while end and is_decoration(text[end - 1]):
        end -= 1
    return text[:end]


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


@dataclass(frozen=True, slots=True)
class Command:
    route: Route
    args: str  # as typed


@dataclass(frozen=True, slots=True)
class Clarify:
    route: Route
    said: str  # as typed
    args: str = ""  # the arguments the confirming reply would carry, as typed (Route.last)
    note: str = ""  # what the question assumed, said before it (「没有说几点，按下午3点」)
    # A ballot that does not say which (「附议」「同意楼上」, a quoted 「反对…」 answered 「同意」,
    # 「我不反对」): the question lists these choice words to send and suggests none of them.
    choices: tuple[str, ...] = ()
    whose: str = ""  # whose view it agrees with, as the question names it (「刘洋的意见（反对）」)


@dataclass(frozen=True, slots=True)
class Unknown:
    said: str  # as typed, set-asides removed
    head: str  # its matching form


Resolution = Command | Clarify | Unknown


@dataclass(frozen=True, slots=True)
class Suggest:
    said: str  # as typed
    near: tuple[Route, ...]  # the nearest commands offered to this person now, best first
    ballot: bool = False  # a ballot said with no vote to take it (「我同意」 before the meeting)
    theirs: Route | None = None  # what was meant, another's to use now (a member's 「开始吧」)


@dataclass(frozen=True, slots=True)
class _Phrase:
    route: Route
    confirm: bool  # only asks
    alone: bool = False  # only as the whole message (Route.alone)


# Lexicon.resolve remembers this many texts of at most RESOLVED_TEXT_MAX characters each.
RESOLVED_KEPT = 4096
RESOLVED_TEXT_MAX = 64


def _clause_forms(key: str) -> tuple[str, ...]:
    """A confirm phrase of two clauses (「都投了，结束吧」) as people type it: with the comma, a
    space, a full stop or nothing between them."""
    if "," not in key:
        return (key,)
    return tuple(dict.fromkeys(key.replace(",", mark) for mark in (",", " ", "。", "")))


class Lexicon:
    """Every word and phrasing of the routes, for longest-prefix lookup on the matching form."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = tuple(routes)
        self._table: dict[str, _Phrase] = {}
        for route in self.routes:
            for word in (*route.words, *route.phrasings):
                self._add(matching_form(word), _Phrase(route, confirm=False))
            for phrase in route.confirm:
                for form in _clause_forms(matching_form(phrase)):
                    self._add(form, _Phrase(route, confirm=True))
            for phrase in route.alone:
                self._add(matching_form(phrase), _Phrase(route, confirm=False, alone=True))
        self._max = max((len(k) for k in self._table), default=0)
        # Route.last, longest first: (matching form, route).
        self._last = sorted(
            [(matching_form(w), r, False) for r in self.routes for w in r.last]
            + [(matching_form(w), r, True) for r in self.routes for w in r.last_kept],
            key=lambda x: -len(x[0]),
        )
        # Route.after: 「对 <object> [进行] <verb>」 or 「<item> <verb>」, one pattern for every
        # route's verbs; who does it may come between (「第一个议题，大家举手表决」), and the
        # chair's lead-in before (「先看第一个议题，大家表决一下」「下面来看议题2，表决」).
        self._after = {matching_form(v): r for r in self.routes for v in r.after}
        self._by_word = {r.words[0]: r for r in self.routes}
        # Each route's own words (not its phrasings), as a command typed in full begins.
        self._own_words = frozenset(matching_form(w) for r in self.routes for w in r.words)
        verbs = "|".join(re.escape(v) for v in sorted(self._after, key=len, reverse=True))
        self._object_pattern = (
            re.compile(
                rf"(?:(?:首先|接下来|下面|现在|那么|那|先)[,，]? ?)?(?:来?看|来)? ?"
                rf"(?:(?:对|就|把) ?(?P<object>[^,，。.;；!！?？:：]{{1,12}}?)|(?P<item>{ITEM_REF}|{THIS_ITEM})"
                rf"|(?P<titled>{_TITLED}))"
                rf"(?:[,，] ?)?(?:请?大家|我们|现在|下面)? ?(?:也|都|先)? ?(?:进行|开始|采用|用)? ?"
                # 「第二个议题现在开始投票，举手表决」: how, after saying that it is voted on
                rf"(?:(?:投票|表决)[,，] ?(?:请?大家|我们)? ?(?:进行|采用|用)? ?)?"
                rf"(?P<verb>{verbs})(?:一下)?"
                rf"[{re.escape(_PARTICLES)}]*"
            )
            if verbs
            else None
        )
        # Route.frames: (whole-message pattern, route).
        self._frames = [
            (re.compile(rf"(?:{f})[{re.escape(_PARTICLES)}]*"), r)
            for r in self.routes
            for f in r.frames
        ]
        # Route.timed: the verbs said after a time, longest first.
        self._timed = {matching_form(v): r for r in self.routes for v in r.timed}
        timed = "|".join(re.escape(v) for v in sorted(self._timed, key=len, reverse=True))
        self._timed_verb = re.compile(timed) if timed else None
        self._resolved: dict[tuple[str, tuple[str, ...]], Resolution] = {}
        # Each route's words and phrasings as the nearest commands compare them.
        self.forms = tuple(
            tuple(
                _Said.of(matching_form(w)) for w in (*r.words, *r.phrasings, *r.confirm, *r.alone)
            )
            for r in self.routes
        )
        self.nearness = _Nearness(self.forms)

    def _add(self, key: str, phrase: _Phrase) -> None:
        if not key:
            raise ValueError(f"an empty phrasing in route {phrase.route.words[0]!r}")
        if key in self._table:
            raise ValueError(f"command word or phrasing {key!r} is used twice")
        self._table[key] = phrase

    def longest(self, text: str) -> tuple[_Phrase, int] | None:
        """The longest entry at the start of `text` that ends on a boundary, and its length."""
        for length in range(min(len(text), self._max), 0, -1):
            found = self._table.get(text[:length])
            if found is None:
                continue
            if _is_latin(text[length - 1]) and length < len(text) and _is_latin(text[length]):
                continue
            alone = found.confirm or found.alone
            if alone and not is_decoration(text[length:].lstrip(_PARTICLES)):
                continue
            return found, length
        return None

    def route(self, word: str) -> Route | None:
        """The route whose first word is `word`."""
        return self._by_word.get(word)

    def resolve(self, original: str, mentioned: Iterable[str] = ()) -> Resolution:
        """What a message asks for. `mentioned`: the names and ids of the people the message
        @-mentions besides the bot (their leading @-token is kept as an argument).

        A pure function of the text and the mentions (the table never changes): short texts are
        remembered (`RESOLVED_KEPT` of them, the oldest forgotten first), since the same few
        words come again and again, and a queued message is resolved at the door and again
        when it is applied."""
        key = (original, tuple(mentioned))
        found = self._resolved.get(key)
        if found is None:
            found = self._resolve(original, key[1])
            if len(original) <= RESOLVED_TEXT_MAX:
                if len(self._resolved) >= RESOLVED_KEPT:
                    del self._resolved[next(iter(self._resolved))]
                self._resolved[key] = found
        return found

    def _resolve(self, original: str, mentioned: Iterable[str]) -> Resolution:
        aligned = align(original)
        body = set_aside(aligned, frozenset(matching_form(m) for m in mentioned))
        said_twice = _SAID_TWICE.match(body.text)
        if said_twice is not None and said_twice.group(1) in self._table:  # 「收到收到」
            body = body.drop(said_twice.end() - len(said_twice.group(1)))
        found = self._ballot_view(body) or self._if_then(body) or self._read(body)
        found = self._replying(aligned, body, found)
        hands = self._hands(body)  # what is read as a ballot or not at all (「五票赞成一票弃权」)
        said_plainly = isinstance(found, Command) and not found.route.exact  # 「举手表决 赞成5…」
        if hands is not None and not said_plainly:
            return hands
        # 「会议取消了吗？」「年度总结最晚哪天交」: a question about it, answered. Only what would
        # be asked back, or said without arguments: a filing's text may hold a question word.
        if isinstance(found, (Command, Clarify)) and found.route.asked:
            text = body.text
            asks = _QUESTION.search(text) or _HOW_MANY.search(text) or _ASKS.search(text)
            answer = self._by_word.get(found.route.asked)
            if isinstance(found, Command) and found.args:
                answer = None
            if (asks or _WHEN_ASKED.search(text)) and answer is not None:
                return Command(answer, "")
        return found

    def _ballot_view(self, body: Aligned) -> Clarify | None:
        """A view said instead of a ballot's word, asked back the way it points (never a
        ballot): 「原则同意」「基本同意，建议…」 as 赞成, 「我觉得不行」 as 反对, 「反对意见保留，弃权」
        as the ballot after the reservation; 「我不反对」 as 赞成 or 弃权 (it is not 反对); agreeing
        with someone (「我同意刘洋的意见」「同意楼上」「附议」) as whichever choice they meant. A
        question (「不反对吗？」) is read elsewhere."""
        text = _undecorated(body.text)
        if not text or _QUESTION.search(body.text):
            return None
        if (found := _AGREEING_WITH.fullmatch(text)) is not None:
            whose = found.group("whose") or found.group("same") or "前面那位"
            whose = "楼上" if whose in ("上面", "上楼") else whose
            route = self._by_word.get("赞成")
            if route is not None:
                return Clarify(route, body.tail(0), choices=_ALL_CHOICES, whose=f"{whose}的意见")
        not_against = _NOT_AGAINST.match(text)
        if not_against is not None and not self._then_a_command(body, not_against.end()):
            route = self._by_word.get("赞成")
            return None if route is None else Clarify(route, body.tail(0), choices=_NOT_NO)
        qualified = _QUALIFIED.match(text) or _I_THINK.fullmatch(text)
        if qualified is not None and not self._then_a_command(body, qualified.end()):
            word = "反对" if qualified.group("no") else "赞成"
            route = self._by_word.get(word)
            return None if route is None else Clarify(route, body.tail(0))
        if (kept := _RESERVED.match(text)) is not None and kept.end() < len(text):
            then = self._said_first(body.drop(kept.end()))
            if isinstance(then, (Command, Clarify)) and then.route.exact and not then.args:
                return Clarify(then.route, body.tail(0))
        return None

    def _then_a_command(self, body: Aligned, end: int) -> bool:
        """Whether what follows a view at `end` is a command other than a ballot (「我不反对，
        散会吧」 is the chair's 散会, read as such elsewhere)."""
        rest = body.drop(end)
        if not rest.text.strip(_SEPARATORS):
            return False
        then = self._read(rest)
        return isinstance(then, (Command, Clarify)) and not then.route.exact

    def _replying(self, aligned: Aligned, body: Aligned, found: Resolution) -> Resolution:
        """A ballot's words in reply to a quoted message that states someone's view (「「刘洋：
        反对，会务费太高」 - - - 同意」): agreeing with them, or voting so? Asked which, naming their
        view; never recorded. A reply to a message that states none (the chair's 「请大家回复」, the
        vote's announcement) is the ballot it says; so are 弃权 and the full 「投票 赞成」."""
        if not isinstance(found, (Command, Clarify)) or not found.route.exact:
            return found
        if isinstance(found, Clarify) and found.choices:
            return found
        if found.route.words[0] not in ("赞成", "反对"):  # 弃权 is no one's view; 投票 is plain
            return found
        quoted = quoted_message(aligned)
        if quoted is None:
            return found
        who, what = quoted
        whole = self._resolve(f"{who}:{what}" if who else what, ())
        if isinstance(whole, Command) and not whole.route.exact:
            return found  # a command quoted (「开始表决：议题1…」, the vote's announcement)
        stated = self._view_of(what)
        if stated is None:
            return found
        whose = f"{who}的意见" if who else "引用的意见"
        if stated:
            whose += f"（{stated}）"
        return Clarify(found.route, body.tail(0), choices=_ALL_CHOICES, whose=whose)

    def _view_of(self, said: str) -> str | None:
        """What a quoted message says of a vote: the choice it states (「反对，会务费太高」:
        反对), "" for a view without one (「会务费太高了，我有意见」), None for none (「请大家回复」,
        a command such as the vote's announcement)."""
        found = self._resolve(said, ())
        if isinstance(found, (Command, Clarify)) and found.route.exact:
            word = found.route.words[0]
            asked_which = isinstance(found, Clarify) and found.choices
            return word if word in _CHOICE_WORD.values() and not asked_which else ""
        if isinstance(found, Command):
            return None
        return "" if _A_VIEW.search(matching_form(said)) else None

    def _if_then(self, body: Aligned) -> Command | Clarify | None:
        """「第一项大家没意见的话就举手表决吧」: what is to be done once the condition holds (the
        item said first, if any), asked back; the words of the condition are no command (「…意见
        …」 had been read as a written opinion). A question is read as such elsewhere. A route
        that reads conditions (Route.conditions) gets the whole sentence its frame matches."""
        found = _IF_THEN.fullmatch(body.text)
        text = body.text
        if found is None or any(p.search(text) for p in (_QUESTION, _ASKS, _WHO, _HOW)):
            return None
        framed = self._framed(body)
        if framed is not None and framed.route.conditions:
            return framed  # 「这个会延期一周的话我就能来」: the route reads the condition
        item = found.group("item") or ""
        then = self._read(align(f"{item}{body.tail(found.start('then'))}"))
        if isinstance(then, Command) and not then.route.shows and not then.route.exact:
            return Clarify(then.route, body.tail(0), then.args)
        return None

    def _read(self, body: Aligned) -> Resolution:
        framed = self._framed(body)
        if framed is not None:
            return framed
        found = self._said_first(body)
        if isinstance(found, Clarify) and found.route.spaced:
            # 「年度总结下次再议」: the words run on into a sentence; another reading first
            for reading in (self._object_first, self._ending, self._last_clause):
                instead = reading(body)
                if instead is not None:
                    return instead
            return found
        if found is not None:
            if (
                isinstance(found, Command)
                and found.args
                and found.route.usage == found.route.words[0]
                and not found.route.kept_first
            ):
                # 「收到，那天出差去不了」: a command that takes nothing, then what another's
                # words end (a leave), asked back as that one
                inner = self._ending(align(found.args))
                if inner is not None and inner.route is not found.route:
                    return Clarify(inner.route, body.tail(0), inner.args)
                # 「收到，另外我那天可能晚到半小时」: a command that does this one's part too
                rest = self._read(align(found.args))
                if (
                    isinstance(rest, (Command, Clarify))
                    and found.route.words[0] in rest.route.includes
                ):
                    return Command(rest.route, rest.args)
            if isinstance(found, Command) and found.route.shows and found.args:
                # 「纪要没问题，签发吧」: a command after what a showing one took as arguments
                # (not a ballot: 「纪要看过了，没问题」 is no vote)
                later = self._last_clause(body)
                if (
                    later is not None
                    and later.route is not found.route
                    and not later.route.exact
                    and not (isinstance(later, Command) and later.route.shows)  # both only show
                ):
                    return later
            return found
        # Then the other orders a command is said in, each read in turn.
        reads = (
            self._object_first,
            self._ballot_on,
            self._timed_at,
            self._ending,
            self._last_clause,
            self._typed_last,
        )
        for read in reads:
            other = read(body)
            if other is not None:
                return other
        said = body.tail(0)
        return Unknown(said, body.text)

    def _ending(self, body: Aligned) -> Clarify | None:
        """A message that ends with one of a route's `last` words (then only punctuation, emoji
        or particles: 「来不了了🙏」), asked back with what came before them as the arguments,
        without an apology in front (「抱歉，」); or whose first clause ends with one, what comes
        after it being the arguments (「这个会我参加不了，在外地出差」)."""
        if _FOR_ANOTHER.search(body.text):  # 「…，让我帮他请个假」: not the speaker's own
            return None
        whole = self._ended(body, len(body.text))
        # the first clause that ends with one (「我那天要去上海开会，请个假，预算我同意」)
        cuts = [i for i, c in enumerate(body.text) if c in _CLAUSE_ENDS and i > 0]
        cut, first, joint = -1, None, "，"
        for cut in cuts:
            first = self._ended(body, cut)
            if first is not None:
                break
        space = body.text.find(" ")
        if whole is None and first is None and space > 0:
            # 「王强请假 出差」「明天请假 出差」: the words end the first word, a reason after the
            # space (whose leave it is, the handler sees: someone named first is refused)
            first = self._ended(body, space)
            if first is not None and first.route.says_why:
                cut, joint = space, " "
            else:
                first = None
        # 「下周六的会我去不了，要出差」: the first clause says only that, the reason follows (the
        # whole, ending with 要出差, would keep every word as the reason)
        if whole is not None and (first is None or first.args or first.route is not whole.route):
            return whole
        if first is None:
            return None
        rest = _without_apology(body.tail(cut + 1))
        if is_decoration(rest):  # 「明天出差来不了，抱歉🙏」
            return first
        args = f"{first.args}{joint}{rest}" if first.args else rest
        return Clarify(first.route, body.tail(0), trimmed(args) if first.route.says_why else args)

    def _ended(self, body: Aligned, end: int) -> Clarify | None:
        """`_ending` for the text up to `end`."""
        while end:
            text = body.text[:end]
            for form, route, kept in self._last:
                start = end - len(form)
                if start > 0 and text.endswith(form) and not _NEGATED.search(text[:start]):
                    before = body.original[body.starts[0] : body.starts[start]]
                    if kept:  # 「那天我家里有事」: the words are part of the reason
                        said = body.original[body.starts[0] : body.starts[end - 1] + 1]
                        if _QUESTION.search(text) or _WHO.search(text):  # 「谁有事」 asks
                            return None
                        said = _without_apology(said)
                        return Clarify(
                            route, body.tail(0), trimmed(said) if route.says_why else said
                        )
                    args = _TRAILING_HEDGE.sub("", _without_apology(before))
                    if route.says_why:  # 「我家里有点急事得先走了」: 「我家里有点急事」
                        args = trimmed(args)
                    if route.after:  # 「会员发展这个议题下次再议」: the item is 会员发展
                        args = _THIS_ITEM_AFTER.sub("", args) or args
                    # no reason given (「１３号的会我」 typed full width is 「13号的会我」)
                    if _HEDGE.fullmatch(form := matching_form(args)) or _ON_BEHALF.fullmatch(form):
                        return Clarify(route, body.tail(0))
                    if args and not is_decoration(args):
                        return Clarify(route, body.tail(0), args)
                    if not args and not is_decoration(before):  # only an apology before
                        return Clarify(route, body.tail(0))
            last = body.text[end - 1]
            if not (is_decoration(last) or last in _PARTICLES):
                return None
            end -= 1
        return None

    def _framed(self, body: Aligned) -> Command | None:
        """Route.frames: the whole message (decoration at the end ignored) said in one of a
        route's sentences, its `object` and `rest` as typed being the arguments; not a
        question."""
        if self._opens_with_a_plain_command(body):  # 「请假 不知道怎么办」 is a leave
            return None
        text = _undecorated(body.text)
        whole = len(text)
        text = _THANKS_AFTER.sub("", text) or text  # 「1号收到了，谢谢」: the thanks are no part
        for pattern, route in self._frames:
            found = pattern.fullmatch(text)
            # A question is no frame (「关于预算大家的意见是什么？」) unless it only shows
            if found is None or (not route.shows and _QUESTION.search(body.text)):
                continue
            args = [
                # what runs to the end keeps the closing marks that _undecorated left out
                body.tail(found.start(name))
                if found.end(name) == len(text) == whole
                else body.original[body.starts[found.start(name)] : body.starts[found.end(name)]]
                for name in ("object", "rest")
                if name in pattern.groupindex and found.group(name)
            ]
            return Command(route, " ".join(a.strip() for a in args if a.strip()))
        return None

    def _opens_with_a_plain_command(self, body: Aligned) -> bool:
        """Whether the message opens, as typed, with the words of a route that has no frames
        and records no ballot: its arguments are its own, whatever shape they have
        (「请假 不知道怎么办才好」). A route with frames, or a ballot word (「同意李娜的提议」),
        leaves them to be tried; so does a command after fillers (「我来不了，请李娜主持」
        delegates the chair)."""
        found = self.longest(body.text)
        if found is None:
            return False
        route = found[0].route
        after = body.text[found[1] :].lstrip()
        how = _HOW.match(after)  # 「年度总结怎么交」: asked
        # 「年度总结我没意见，…」: a view on what the words name (an item's title), not the command
        view = _A_VIEW_ON_IT.match(after)
        asks = _ASKS.search(after)  # 「开会讨论哪些议题」: a frame that shows may read it whole
        inside = after.startswith(("里", "中"))  # 「纪要里…要补上：…」: about what is in it
        # 「纪要备注 会议讨论了如何…」: a route's own word then its arguments as its usage writes
        # them is that route, frames or not
        word = body.text[: found[1]] in {matching_form(w) for w in route.words}
        opens = body.text[found[1] : found[1] + 1]
        usage = word and bool(opens) and opens in _USAGE_OPENS
        framed = route.frames and not usage
        # 「请假成功了吗」: the words run into a question, which a frame may read (not 「请假 …吗」)
        asked = word and not usage and _QUESTION.search(after) is not None
        return not (route.exact or framed or how or view or asks or inside or asked)

    def _object_first(self, body: Aligned) -> Command | None:
        """Route.after: 「对议题2进行表决」 is the route with 「议题2」 (decoration at the end
        ignored), as typed or after fillers (「好，就第一项表决吧」)."""
        if self._object_pattern is None:
            return None
        for form in (body, *_loose_forms(body)):
            found = self._object_pattern.fullmatch(_undecorated(form.text))
            if found is None:
                continue
            group = next(g for g in ("object", "item", "titled") if found.group(g) is not None)
            if is_decoration(found.group(group)):
                continue
            obj = form.original[form.starts[found.start(group)] : form.starts[found.end(group)]]
            if group != "item" and not _AN_ITEM.fullmatch(found.group(group).strip()):
                # an item by its title: quoted, so that no handler takes it for a reason
                obj = f"「{obj.strip().strip('「」')}」"  # (handlers.common.quoted_title)
            return Command(self._after[found.group("verb")], obj.strip())
        return None

    def _hands(self, body: Aligned) -> Clarify | None:
        """Counts of two choices or more said in a sentence (「刚才录错了，应该是赞成4反对1弃权1」
        「五票赞成一票弃权」「4个赞成 1个反对」): the show of hands to record, asked back in its
        usage's form (a voter's ballot has no count; one count alone, 「赞成6」, may be a ballot
        on item 6)."""
        route = self._by_word.get("举手结果")
        if route is None or body.text.startswith(matching_form("举手结果")):
            return None
        if _QUESTION.search(body.text) or _ASKS.search(body.text):  # 「赞成4反对3算通过吗」
            return None
        counts: dict[str, int] = {}
        for found in _COUNTED.finditer(body.text):
            word = found.group("a") or found.group("b")
            n = small_number(found.group("n") or found.group("m"))
            if n is None or _CHOICE_WORD[word] in counts:
                return None
            counts[_CHOICE_WORD[word]] = n
        if len(counts) < 2:
            return None
        said = " ".join(f"{w}{counts[w]}" for w in ("赞成", "反对", "弃权") if w in counts)
        return Clarify(route, body.tail(0), said)

    def _ballot_on(self, body: Aligned) -> Clarify | None:
        """「第二项我赞成」「这个议题我弃权」: a ballot said after the item it is on, asked back
        (as every ballot said with more than its words) with the item's number when it has one."""
        found = _BALLOT_ON.fullmatch(_undecorated(body.text))
        route = None if found is None else self._by_word.get(_CHOICE_WORD[found.group("choice")])
        if found is None or route is None:
            return None
        item = found.group("item")
        if _THIS_ITEM_SAID.fullmatch(item):
            return Clarify(route, body.tail(0))
        number = small_number(_NUMERAL.search(item).group())  # type: ignore[union-attr]
        return Clarify(route, body.tail(0), "" if number is None else str(number))

    def _said_first(self, body: Aligned) -> Resolution | None:
        """The command whose words open the text as typed, else after fillers or with spaces
        inside removed (`_loose_forms`)."""
        found = self._at(body, loose=False)
        for loose in () if found is not None else _loose_forms(body):
            found = self._at(loose, loose=True)
            if found is not None:
                break
        return found

    def _last_clause(self, body: Aligned) -> Command | Clarify | None:
        """A command said after a remark, 「大家都投完了，结束表决」「人齐了，开始吧」: the last
        clause (after the last ，。；！) read alone. A command that only shows runs; any other is
        asked back with its arguments (the remark may change what is meant)."""
        text = _undecorated(body.text).rstrip(_CLAUSE_ENDS)
        cut = max(text.rfind(c) for c in _CLAUSE_ENDS)
        if cut <= 0:
            return None
        clause = body.drop(cut + 1)
        found = self._said_first(clause) or self._framed(clause)  # 「…，能视频参加吗」
        remark = body.original[body.starts[0] : body.starts[cut + 1]]
        apology_only = not _without_apology(remark)
        # 「不好意思，我到了」: an apology changes nothing (a ballot is still asked back)
        if isinstance(found, Command) and apology_only and not found.route.exact:
            return found
        # 「不好意思路上堵车，刚到😅」: a check-in said whole after a remark is done, as said
        # first (Route.kept_first); asked back, the member was not counted and could not vote
        if (
            isinstance(found, Command)
            and found.route.kept_first
            and not found.args
            and not _QUESTION.search(matching_form(remark).rstrip(_SEPARATORS))
            and not _WHO.search(remark)
        ):
            return found
        if isinstance(found, Command) and not found.route.shows:
            return Clarify(found.route, body.tail(0), found.args)
        if isinstance(found, Clarify):  # said back whole (「人齐了，开始吧」), not its last clause
            return dataclasses.replace(found, said=body.tail(0))
        return found if isinstance(found, Command) else None

    def _typed_last(self, body: Aligned) -> Command | Clarify | None:
        """A command typed as its usage writes it (one of its route's own words, then the end or
        a space or colon) at the end of a remark, after a space or a clause end: 「先看预算，上次
        没通过，这次再表决一下 发起表决 1」. Read as `_last_clause` reads a last clause (the same
        idea as `_after_a_remark` for a convening): one that only shows runs, any other is asked
        back with its arguments, since the remark may change what is meant."""
        text = body.text
        for i in range(1, len(text)):
            if text[i - 1] not in _CLAUSE_ENDS + " " or self._mistyped(text[: i - 1]):
                continue
            found = self.longest(text[i:])
            if found is None or found[0].confirm or found[0].alone:
                continue
            end = i + found[1]
            if text[i:end] not in self._own_words or text[end : end + 1] not in ("", *_USAGE_OPENS):
                continue
            read = self._at(body.drop(i), loose=False)
            if isinstance(read, Command) and read.args and read.route.usage == text[i:end]:
                continue  # 「我觉得 签到 这个流程挺好」: words it takes none of
            if isinstance(read, Command) and read.route.shows and not read.route.exact:
                return read
            if isinstance(read, (Command, Clarify)):
                return Clarify(read.route, body.tail(0), read.args)
        return None

    def _mistyped(self, said: str) -> bool:
        """Whether `said` (one word, no remark) is a command's word mistyped: 「被案 议事规则」 is
        a mistyped 「备案」 with its title, not a remark before 「议事规则」."""
        typed = _Said.of(said)
        if not typed.chars or len(typed.chars) > 6 or " " in said:
            return False
        return any(
            typed.sound == word.sound
            or (len(typed.chars) > 2 and _distance(typed.chars, word.chars) <= 1)
            for forms in self.forms
            for word in forms
        )

    def _timed_at(self, body: Aligned) -> Resolution | None:
        """Route.timed: a message that opens with a time and says the verb after it (and after
        a place), 「明天下午三点在三楼会议室开个会，议题：预算」, is the route with the words
        around the verb. A question (「明天三点开会吗」: when the meeting is) is not one; a
        hold-off (「明天三点开会，等一下」) is asked back."""
        if self._timed_verb is None:
            return None
        found = self._timed_verb.search(body.text)
        if found is None or found.start() == 0:
            return None
        # 「通知大家明天下午三点开会」: who is told may come first
        before = _TIMED_LEAD.sub("", body.original[body.starts[0] : body.starts[found.start()]])
        before = before.removesuffix("召")  # 「…三点召开全体会议」: 召 is the verb's, no place
        # 「…学会会议室再开一次会」「…我们就开个会」: how the verb is said, no place
        before = _BEFORE_THE_VERB.sub("", before)
        # A day and an hour open the message: when they are does not matter here (the handler
        # reads them again against its clock), so any fixed instant will do.
        # Read as a convening's time: 「9号」「12.9 15:00」 are dates, and a weekday beside the
        # date is the handler's to check against the date in its own year.
        form = _nfkc_aligned(before).text
        parsed = parse_leading_time(form, _SOME_INSTANT, _SOME_ZONE, convening=True)
        if parsed is None and (later := _after_a_remark(before)) is not None:
            # 「各位，市里要求3月10号前报送换届方案，我们3月5号下午3点开个临时会，…」: a remark
            # first, then the convening in a clause of its own; asked back (the remark may say
            # something the leader means to be part of it)
            read = self._timed_at(align(f"{later}{body.tail(found.start())}"))
            if isinstance(read, (Command, Clarify)) and read.route is self._timed[found.group()]:
                return Clarify(read.route, body.tail(0), read.args)
            return None
        hourless = (
            hourless_time(before, _SOME_INSTANT, _SOME_ZONE, convening=True)
            if parsed is None
            else None
        )
        if hourless is not None and hourless.weekday is not None:
            # 「12月10日（周三）下午开会」: whether the weekday is the date's is the handler's to
            # say (in its own year), before any hour is offered; run as said, it asks for both
            hourless = None
        elif hourless is not None:  # 「下周一上午开会」: asked back, at the usual hour
            before = f"{hourless.written} {hourless.rest}"
        elif parsed is None:
            return None
        day_only = parsed is not None and not parsed.explicit_time
        route = self._timed[found.group()]
        end = found.end()
        # 「…会议室开下半年的领导小组会」: what the meeting is said to be belongs to the verb
        if found.group() == "开" and (named := _THE_MEETING_SAID.match(body.text, end)):
            end = named.end()
        after = body.tail(end)
        if _QUESTION.search(after or before):
            return None
        spaced = body.text[end : end + 1] in tuple(_SEPARATORS)
        after = after.lstrip(_SEPARATORS).strip()
        after = _BE_THERE.sub("", after)  # 「…召开领导小组会议，请准时参加」
        if _HOLD_OFF.match(after):
            return Clarify(route, body.tail(0))
        if is_decoration(after.strip(_PARTICLES)):
            if day_only:  # 「明天开会」 alone may only say when the meeting is
                return None
            after = ""
        elif not _AGENDA_NEXT.match(after) and not (  # 「明天三点开会我来不了」 is no convening
            (
                _PLACE_NEXT.match(after)  # 「，在学会办公室」「，学会302，议题：…」
                or _PLACE_THEN_AGENDA.match(after)
                or (spaced and _BARE_PLACE.fullmatch(matching_form(after)))  # 「 学会302」
            )
            and not _CANNOT.search(after)
        ):
            return None
        args = f"{before.strip()} {after}".strip()
        if hourless is not None:
            return Clarify(route, body.tail(0), args, note=f"没有说几点，先按{hourless.said}。")
        return Command(route, args)

    def _at(self, body: Aligned, *, loose: bool) -> Resolution | None:
        found = self.longest(body.text)
        if found is None:
            return None
        phrase, length = found
        tail = body.tail(length)
        # 「备案一下 工作规则」; 「大家投票吧，第一项」: a particle ending the words goes too
        tail = _PARTICLE_CLAUSE.sub("", tail)
        args = _COMPLEMENT.sub("", tail.lstrip(",，:：、;；").strip())
        if is_decoration(args):
            args = ""
        if self._mistyped_longer(body.text, length):
            return None
        if _BEFORE_OR_AFTER.match(body.text[length:]):  # 「签发之前我再看看」「开会前…」: a time
            return None
        rest = body.text[length:]
        corrected = _CORRECTED.search(rest)  # 「暂缓 3，不对，是第2项」: which is meant is unclear
        if corrected and _CORRECTED_WHAT.fullmatch(rest[: corrected.start()].strip(" ,，")):
            return None
        spoken_of = (
            (_SPOKEN_OF.match(rest) and (phrase.route.exact or not _WHOM.match(rest)))
            or _ABOUT_IT.match(rest)
            or any(m.start() < length < m.end() for m in _GLUED_NOUN.finditer(body.text))
        )
        if spoken_of and not phrase.route.shows:
            # 「请假的话要跟谁说」「弃权的话算反对吗」: asked about, answered (how to, the rules)
            if _QUESTION.search(body.text) or _ASKS.search(body.text) or _WHO.search(body.text):
                answer = self._by_word.get(phrase.route.asked or "帮助")
                if answer is not None:
                    return Command(answer, "" if phrase.route.asked else phrase.route.words[0])
            return None
        asks = _QUESTION.search(tail) or _HOW_MANY.search(tail)  # 「开会要到多少人才算数」
        if asks and phrase.route.done_before_a_question and rest[:1] in _CLAUSE_ENDS + "。 ":
            return Command(phrase.route, args)  # 「收到。另外年度总结什么时候截止？」
        as_usage = phrase.route.spaced and rest[:1] in _USAGE_OPENS and args  # 「请示 …能否…？」
        if (
            not phrase.route.shows
            and not as_usage
            and (asks or _HOLD_OFF.match(tail) or _A_MOMENT.match(tail))
        ):
            return Clarify(phrase.route, body.tail(0))  # 「签发了吗」「开会等一下」: asked, not run
        if phrase.route.spaced and args and not _spaced(body.text[length:]):
            # asked without the words: a yes must not file 「我已经发了，麻烦查收」 as a title
            return Clarify(phrase.route, body.tail(0))
        if phrase.route.exact and not _BALLOT_ARGS.fullmatch(_undecorated(matching_form(args))):
            return Clarify(phrase.route, body.tail(0))
        if phrase.confirm or (loose and phrase.route.exact):
            return Clarify(phrase.route, body.tail(0))
        if is_decoration(args.strip(_PARTICLES)):  # 「散会吧」「开始投票吧！」: no arguments
            args = ""
        return Command(phrase.route, args)

    def _mistyped_longer(self, text: str, length: int) -> bool:
        """Whether the text goes on, without a space, into a near miss of a longer word that
        starts with the one matched (「纪要被注」 is a mistyped 「纪要备注」, not 「纪要」). A
        ballot's own longer phrasings do not count: what follows its word is asked back."""
        if length >= len(text) or is_decoration(text[length]) or text[length].isdigit():
            return False  # a number after the words is an argument (「收到1」), not a typo
        if text[length] in "一二两三四五六七八九十半":  # 「会议提前半小时」: nor a spoken one
            return False
        key = text[:length]
        route = self._table[key].route
        for other, phrase in self._table.items():
            if (phrase.route is route and route.exact) or not length < len(other) <= len(text):
                continue
            if other.startswith(key):
                start = text[: len(other)]
                if _distance(start, other) <= 1 or _pinyin(start) == _pinyin(other):
                    return True
        return False


def _without_apology(text: str) -> str:
    """`text` without the apologies and separators in front and the separators at its end."""
    text = text.strip(_SEPARATORS)
    for apology in _APOLOGIES:
        if text.lower().startswith(apology):
            return _without_apology(text[len(apology) :])
    return text


def _loose_forms(body: Aligned) -> Iterable[Aligned]:
    """Fillers before the command removed (「好的，收到」, 「我同意」), then spaces inside it
    removed (「请 假 出差」)."""
    rest = body
    lead = _drop_separators(body)  # 「🙏请假 出差」「✅签到」: emoji before the command
    if lead.text and len(lead.text) < len(body.text):
        rest = lead
        yield rest
    stripped = True
    while stripped:
        stripped = False
        for filler in FILLERS:
            if rest.text.startswith(filler) and len(rest.text) > len(filler):
                rest = _drop_separators(rest.drop(len(filler)))
                stripped = True
                yield rest
                break
    yield body.compact()
    if rest is not body:
        yield rest.compact()


def _drop_separators(text: Aligned) -> Aligned:
    i = 0
    while i < len(text.text) and (text.text[i] in " ,、.~…" or is_decoration(text.text[i])):
        i += 1
    return text.drop(i)


_CLOSING = {close: open_ for open_, close in _QUOTES.items()}
# Who wrote a quoted message, before its text: 「刘洋：反对…」.
_QUOTED_BY = re.compile(r"([^\s:,「」“”\"@/]{1,12}):\s*(.+)", re.S)


def quoted_message(text: Aligned) -> tuple[str, str] | None:
    """The message a reply quotes, as (who wrote it or "", what it says), in the matching form:
    the text before a dashed line (「「刘洋：反对」 - - - - 同意」, the last quoted message of it),
    or a quote in front of the reply (「「刘洋：反对」 同意」); None for a message that quotes
    nothing (a message wholly in quotes is no reply)."""
    head = None
    for found in _QUOTE_SEPARATOR.finditer(text.text):
        if text.text[found.end() :].strip():
            head = text.text[: found.start()].strip()
    if head is None:
        opened = text.text[:1]
        close = text.text.find(_QUOTES[opened], 1) if opened in _QUOTES else -1
        if close <= 0 or not text.text[close + 1 :].strip():
            return None
        head = text.text[: close + 1]
    if head and head[-1] in _CLOSING:
        start = _opening(head)
        head = head[start + 1 : -1] if start >= 0 else head
    head = head.strip()
    if not head:
        return None
    by = _QUOTED_BY.fullmatch(head)
    return (by.group(1), by.group(2).strip()) if by else ("", head)


def _opening(text: str) -> int:
    """Where the quote that `text` ends with opens (quotes inside it nest), or -1."""
    close = text[-1]
    opener = _CLOSING[close]
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] == close and (opener != close or i == len(text) - 1):
            depth += 1
        elif text[i] == opener:
            depth -= 1
            if depth == 0:
                return i
    return -1


def set_aside(text: Aligned, mentioned: frozenset[str]) -> Aligned:
    """Remove what is not the command: a quoted message before a reply, a message wrapped in
    quotes (「赞成」), leading @-tokens not among `mentioned` (the bot, under whatever display
    name), command marks."""
    quote = None
    for found in _QUOTE_SEPARATOR.finditer(text.text):
        quote = found
    if quote is not None and text.text[quote.end() :].strip():
        text = text.drop(quote.end())
    while True:
        before = text.text
        if text.text and text.text[0] in _QUOTES:
            close = text.text.find(_QUOTES[text.text[0]], 1)
            if close == len(text.text) - 1:
                text = Aligned(text.original, text.text[1:close], text.starts[1 : close + 1])
            elif close > 0 and text.text[close + 1 :].strip():
                text = text.drop(close + 1)
        if text.text.startswith("@"):
            token = text.text[1:].split(" ", 1)[0]
            if token not in mentioned and len(token) < len(text.text) - 1:
                text = text.drop(1 + len(token))
        if text.text and text.text[0] in _COMMAND_MARKS + ",.:;":
            text = text.drop(1)
        if text.text == before:
            return text


# --- the nearest commands ----------------------------------------------------------------------


@cache
def _pinyin(text: str) -> str:
    return "".join(lazy_pinyin(text))


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (rapidfuzz's C implementation: every message no command takes is
    compared with each of the ~1,300 words and phrasings, twice over; in Python that cost about
    0.1 s of CPU for each remark in a group chat)."""
    return Levenshtein.distance(a, b)


@dataclass(frozen=True, slots=True)
class _Said:
    """What was said, in the two forms the nearest commands are compared in."""

    chars: str
    sound: str

    @classmethod
    def of(cls, head: str) -> _Said:
        chars = head.replace(" ", "")
        return cls(chars, chars if chars.isascii() else _pinyin(chars))


class _Nearness:
    """How alike what was said is to each command's words and phrasings, 0 (nothing alike) .. 1
    (the same): for each word, the best of the characters and the pinyin, each compared with the
    start of what was said as long as the word, and the word found inside what was said; for a
    command, its closest word. Only closeness of at least NEAR_FLOOR is wanted, so the words are
    grouped by length and each group is compared in one call with the most edits that still
    reach it (a remark no command takes is compared with ~1,300 words; one by one that was
    2.4 ms of CPU, in pure Python ~100 ms)."""

    def __init__(self, forms: Sequence[Sequence[_Said]]) -> None:
        self._chars: dict[int, tuple[list[str], list[int]]] = {}
        self._sounds: dict[int, tuple[list[str], list[int]]] = {}
        self._inside: list[tuple[str, int, float]] = []
        for index, words in enumerate(forms):
            for word in words:
                if not word.chars:
                    continue
                for table, text in ((self._chars, word.chars), (self._sounds, word.sound)):
                    texts, owners = table.setdefault(len(text), ([], []))
                    texts.append(text)
                    owners.append(index)
                if len(word.chars) >= 2:
                    # Said inside a sentence (「可以散会了」「第二项暂缓吧」): close, the longer the closer.
                    self._inside.append((word.chars, index, 0.8 + 0.02 * min(len(word.chars), 5)))

    def best(self, said: _Said) -> dict[int, float]:
        """Each command's closeness (by index) where it is at least NEAR_FLOOR."""
        best: dict[int, float] = {}
        if not said.chars:
            return best
        for table, text in ((self._chars, said.chars), (self._sounds, said.sound)):
            for size, (texts, owners) in table.items():
                if not size:
                    continue
                most = int(size * (1 - NEAR_FLOOR))  # edits allowed at the floor
                for _, edits, k in process.extract(
                    text[:size], texts, scorer=Levenshtein.distance, score_cutoff=most, limit=None
                ):
                    score = 1 - edits / size
                    if score > best.get(owners[k], 0.0):
                        best[owners[k]] = score
        for chars, index, score in self._inside:
            if chars in said.chars and score > best.get(index, 0.0):
                best[index] = score
        return best


def offered(route: Route, roles: frozenset[g.Role], phase: g.MeetingState | None) -> bool:
    """Whether a command is for this person now: allowed, and useful in the meeting's phase."""
    return g.may(roles, route.needs) and (route.when is None or phase in route.when)


# The nearest commands: at most this many, each at least this alike to what was said.
NEAR_LIMIT = 3
NEAR_FLOOR = 0.5


def _scores(lexicon: Lexicon, head: str) -> list[tuple[float, int, Route]]:
    """How alike what was said is to each command (at least NEAR_FLOOR), closest first."""
    best = lexicon.nearness.best(_Said.of(head))
    scored = [(score, index, lexicon.routes[index]) for index, score in best.items()]
    scored.sort(key=lambda x: (-x[0], x[1]))
    return scored


def _ranked(
    scores: list[tuple[float, int, Route]],
    roles: frozenset[g.Role],
    phase: g.MeetingState | None,
    *,
    any_phase: bool,
) -> list[tuple[float, Route]]:
    """The commands closest to what was said (`scores`), among those offered to this person now
    (with `any_phase`, those allowed to them in any phase of a meeting), closest first."""
    return [
        (score, route)
        for score, _, route in scores
        if (g.may(roles, route.needs) if any_phase else offered(route, roles, phase))
    ]


# Said to the bot as a plain acknowledgement: when no command takes it (no vote open for 「好的」),
# answered in kind rather than 「没有听懂」.
# 「+1」 too: after a remark it agrees, as 「👍」 does; during a vote it is asked back as a ballot
# (赞成's confirm), like 「👍」, since 「same as the one before」 is only a guess at a ballot.
_ACKNOWLEDGEMENTS = frozenset(
    {"好的", "好", "好滴", "好嘞", "ok", "okay", "嗯", "嗯嗯", "行", "可以", "明白", "明白了"}
    | {"知道了", "了解", "没问题", "👌", "👍", "[ok]", "[强]", "1", "+1"}  # 「收到请回复1」
)


# What a reason for leave plainly says (「出差」「身体不适」「孩子生病了」「单位有会」): a message after
# 「请写明请假理由」 that says one, and nothing undecided, thankful or addressed to another, is
# taken as the reason; anything else is asked back (「我再想想」「谢谢组长」 had been taken).
_REASON_WORDS = re.compile(
    r"出差|差旅|外出|在外|外地|出国|出境|病|身体|不适|不舒服|住院|手术|就医|看医生|体检|孩子|老人|家里|家中"
    r"|家属|有事|急事|私事|事假|病假|休假|年假|产假|婚|丧|开会|会议|有会|培训|学习|考试|授课|上课|值班|接待"
    r"|检查|调研|冲突|撞了|走不开|脱不开|抽不开|赶不回|回不来|来不了|去不了|参加不了|安排"
)
_NOT_A_REASON = re.compile(
    r"想想|考虑|确认|看看|能不能|可不可以|可能|也许|说不定|不一定|再说|再定|谢谢|感谢|辛苦|麻烦|帮我|帮忙"
    r"|[@\uff20「」“”\"?？]"
)


# --- a reason, as said around the words ---------------------------------------------------------

# A part of a reason that only says one cannot come or asks for the leave (「周六我来不了」「忘了请假
# 了」「刚才陈静帮我请了假」), or what is left of one once its words were taken as the command
# (「周六的会我」).
_ONLY_NOT_COMING = re.compile(
    r".*(?:(?:来|去|参加|到)不了|不能(?:来|去|参加|到会)|没法(?:来|去|参加)|请个?假|请了假|请一下).*"
    r"|.{0,10}我"
)
# A part that only says when (「今天」「5号」「12月7号下午」「周六的会」): which meeting, no reason.
_WHEN_ONLY = re.compile(rf"{_DAY_SAID}(?:的会议?|的会)?")
# A part that only thanks or apologises (「麻烦了」「谢谢大家」「抱歉」).
_POLITE_ONLY = re.compile(
    r"(?:谢谢|多谢|感谢|辛苦了?|麻烦(?:了|大家|您|你)?|抱歉|不好意思|对不起|sorry)(?:您|你|大家|啦|了|哈)?"
)
# The reason said after a colon that follows the leave's own words (「我自己再请一下：在外地调研」
# 「请假理由：出差」): what comes before is no part of it.
_REASON_AFTER = re.compile(r"(?:请个?假|请一下|请假|理由|原因)(?:是|为|如下)?\s*[:：]\s*")
# A word left hanging at the end once the words after it were taken as the command (「家里有点
# 急事得先走了」「…必须先离开」): 得 and 要 only where they are no part of a word (觉得, 需要).
_DANGLING = re.compile(
    r"(?:(?<![觉获取记值懂显晓难使免舍])得|(?<![需重主想只])要|必须|只能|不得不|只好)$"
)
_PARTS = re.compile(r"([,，;；。!！\s]+)")
# The speaker in front of their reason (「我明天要出差」「本人在外地」): the reason reads without it
# in the leave list and the minutes; not a 我 that is part of a word (我们, 我校, 我会, 我自己).
_SPEAKER_FIRST = re.compile(
    r"^(?:我(?![们校院司市省区县局处部所厅委会方党国自和与跟及])|本人)(?=\S)"
)


def reason_said(text: str) -> str:
    """What a reason (a leave's, an absence's, a departure's) says, from what was typed around
    the command's words: without the apology, greeting or acknowledgement (「好的」) in front, the parts that only say one
    cannot come or ask for the leave (「忘了请假了」), only say when (「今天」「5号」) or only
    thank, what a colon after the leave's own words introduces (「我自己再请一下：在外地调研」),
    a hedge or a hanging 得 at the end (「我家里有点急事得」) and the speaker in front (「我」
    「本人」). The separators kept as typed;
    all of it as said when nothing else is left. The same reading wherever a reason is taken:
    in a question asked back and in the record."""
    text = _without_apology_in_front(text.strip())
    after = list(_REASON_AFTER.finditer(text))
    if after and text[after[-1].end() :].strip(_SEPARATORS):
        text = text[after[-1].end() :]
    pieces = _PARTS.split(text)
    kept: list[str] = []
    dropped = False
    for i in range(0, len(pieces), 2):
        part = pieces[i]
        if not part:
            continue
        form = matching_form(part)
        if is_decoration(part) or (
            _ONLY_NOT_COMING.fullmatch(form)
            or _WHEN_ONLY.fullmatch(form.rstrip(_PARTICLES))
            or _POLITE_ONLY.fullmatch(_undecorated(form))
            or (not kept and is_acknowledgement(part))  # 「好的，我那天出差，请个假」
        ):
            dropped = True
            continue
        if kept:
            kept.append(pieces[i - 1])
        kept.append(part)
    said = trimmed("".join(kept) if kept and dropped else text)
    return _SPEAKER_FIRST.sub("", said) or said


def trimmed(said: str) -> str:
    """A reason without what hangs at its end: a hedge (「…，可能」), a part that only says when
    (「… 今天」) or a 得 left before the words taken as the command (「我家里有点急事得」); as
    typed (its closing marks too) when nothing hangs there. What a question asked back shows
    of a reason (a part that tells of someone else, 「杨帆请假」, stays for the handler to see),
    an acknowledgement in front of it left out (「好的，我那天出差」)."""
    first = _PARTS.split(said, maxsplit=1)
    if len(first) == 3 and is_acknowledgement(first[0]) and first[2].strip(_SEPARATORS):
        said = first[2]
    text = said
    while True:
        core = text.rstrip(_SEPARATORS)
        shorter = _DANGLING.sub("", _TRAILING_HEDGE.sub("", core))
        pieces = _PARTS.split(shorter)
        if len(pieces) > 2 and _WHEN_ONLY.fullmatch(matching_form(pieces[-1]).rstrip(_PARTICLES)):
            shorter = "".join(pieces[:-2])  # 「我在去无锡的高铁上 今天」
        if shorter == core or not shorter.strip(_SEPARATORS):
            break
        text = shorter
    return said if text == said else text.strip(_SEPARATORS)


def _without_apology_in_front(text: str) -> str:
    """`text` without the apologies and separators in front (its end as typed)."""
    text = text.lstrip(_SEPARATORS)
    for apology in _APOLOGIES:
        if text.lower().startswith(apology):
            return _without_apology_in_front(text[len(apology) :])
    return text


# A view on something, in a clause after a leave's reason (「对换届没意见」「预算建议压缩」).
A_VIEW = re.compile(r"同意|赞成|支持|反对|弃权|意见|建议|认为|希望|不妥|没问题|可以")
# What may open a clause before what it is about: 「对换届…」「关于预算…」「另外预算…」.
VIEW_ABOUT = re.compile(r"^\s*(?:另外|还有|至于)?\s*(?:对于|对|关于)?\s*")
# Who holds the view, or how much, before its word (「预算我同意」「人选也同意」): no object.
_VIEW_HOLDER = re.compile(r"(?:我|本人|个人|也|都|完全|原则上?|基本上?)+$")
# A view said alone, going on with the view before it (「对预算没意见，同意」).
_BARE_VIEW = re.compile(
    r"(?:我|本人)?(?:也|都|完全|原则上?)*(?:不同意|同意|赞成|支持|反对|弃权|没有?意见|无意见|没问题|可以)"
    r"[的了吧啊。!！]*"
)
_CLAUSES_KEPT = re.compile(r"([,，;；。])")


def views_in(reason: str, names: Callable[[str], bool] | None = None) -> tuple[str, list[str]]:
    """A leave's reason without the views said in its clauses after the first, and those views:
    a clause that names something and then says a view on it (「对换届没意见」「预算建议压缩」
    「秘书长人选也同意」; with `names`, only when it holds of the clause: the handler asks
    whether it names an item), a bare view after one going on with it (「对预算没意见，同意」:
    the 「同意」 had been left in the reason). The question asked back for a leave says these
    go as written opinions; the handler keeps each on the item it names. The separators of
    what is left kept as typed; the reason as said when no view was found."""
    pieces = _CLAUSES_KEPT.split(reason)  # clause, separator, clause, …
    kept: list[str] = [pieces[0]]
    views: list[str] = []
    last = False  # whether the clause before was a view
    for i in range(2, len(pieces), 2):
        clause, separator = pieces[i].strip(), pieces[i - 1]
        if not clause:
            continue
        view = A_VIEW.search(clause)
        about = VIEW_ABOUT.sub("", clause[: view.start()]) if view else ""
        if view and _VIEW_HOLDER.sub("", about).strip() and (names is None or names(clause)):
            views.append(clause)
            last = True
        elif last and _BARE_VIEW.fullmatch(clause):
            views[-1] = f"{views[-1]}{separator}{clause}"
        else:
            kept += [separator, pieces[i]]
            last = False
    if not views:
        return reason, []
    return "".join(kept).strip(" ,，;；。"), views


def asks_something(said: str) -> bool:
    """Whether `said` asks something (「今年年度总结什么时候截止来着？」「会议在几楼」)."""
    form = matching_form(said)
    return any(p.search(form) for p in (_QUESTION, _ASKS, _WHEN_ASKED, _ASKING))


def no_reason(text: str) -> bool:
    """Whether `text` gives no reason at all: only which day or meeting and how sure (「今天」
    「那天我可能」), or nothing but decoration."""
    form = _undecorated(matching_form(text)).strip()
    return not form or bool(_HEDGE.fullmatch(form) or _WHEN_ONLY.fullmatch(form))


def plain_reason(said: str) -> bool:
    """Whether `said` plainly gives a reason for leave (see _REASON_WORDS)."""
    text = said.strip()
    return (
        0 < len(text) <= 30
        and _REASON_WORDS.search(text) is not None
        and _NOT_A_REASON.search(text) is None
    )


def is_acknowledgement(said: str) -> bool:
    """「好的」「OK👌」「明白了。」: only an acknowledgement (decoration and particles aside)."""
    return _only(said, _ACKNOWLEDGEMENTS)


# How long a question asked back waits for its yes (storage/questions.py keeps it).
QUESTION_HOLDS = timedelta(minutes=10)

# A yes to a question asked back (「是否请假？」), and a no; not 「明白」「知道了」, which only say
# the question was read.
_YES = frozenset(
    {"是", "是的", "是滴", "对", "对的", "确认", "确定", "没错", "要", "嗯", "嗯嗯", "好", "好的"}
    | {"好滴", "好嘞", "行", "可以", "ok", "okay", "yes", "y", "👌", "👍", "[ok]", "[强]"}
)
_NO = frozenset(
    {
        "不",
        "不是",
        "不对",
        "否",
        "不要",
        "不用",
        "不用了",
        "算了",
        "算了吧",
        "先不",
        "先不用",
        "不需要",
    }
    | {"no", "n"}
)


_CHANGING = re.compile(r"^(?:我|那)?(?:要|想)?(?:改成|改投|改为|换成)")


def says_a_change(said: str) -> bool:
    """「改成反对」「我改投赞成」: a ballot said as a change of one already cast."""
    return _CHANGING.match(_undecorated(matching_form(said)).strip()) is not None


def is_question(said: str) -> bool:
    """「理由要写什么？」「可以不写吗」: said as a question."""
    return _QUESTION.search(matching_form(said)) is not None  # its 「？」 too, no decoration


def is_yes(said: str) -> bool:
    return _only(said, _YES)


def is_no(said: str) -> bool:
    return _only(said, _NO)


def _only(said: str, words: frozenset[str]) -> bool:
    """The message is one of `words`, decoration and particles aside (「是的。」「好👌」), after
    any mention of the bot in front (「@议事 是」「@议事 /是」)."""
    return len(said) <= _SHORT_ANSWER and _short_only(said, words)


@lru_cache(maxsize=4096)  # every message at the door asks: the same few texts, mostly ballots
def _short_only(said: str, words: frozenset[str]) -> bool:
    said = _MENTIONS_IN_FRONT.sub("", said.strip()).lstrip("/!#").strip()
    text = _undecorated(matching_form(said)).strip()
    return text in words or text.rstrip(_PARTICLES) in words or (not text and said in words)


_SHORT_ANSWER = 40  # longer than any mention and short answer together
_MENTIONS_IN_FRONT = re.compile(r"^(?:@\S+\s+)+")


def settle(
    lexicon: Lexicon,
    found: Clarify | Unknown,
    roles: frozenset[g.Role],
    phase: g.MeetingState | None,
) -> Clarify | Suggest | Command:
    """What to answer a message that runs nothing: the one-tap question when its command is
    offered to this person now (「我同意」 while a vote may be open); the command itself when it
    is theirs but not of this phase and only says why not now (Route.says_why_not_now: 「我看了
    没问题，签发」 while the meeting is on is told it has not ended); else the nearest commands:
    those offered now, led by one of another phase when that one is closer (「签倒」 with no
    meeting: 「签到」 is what was meant, and its own refusal then says why not now; a bare
    「没有听懂」 or only a distant command of this phase would help less). A ballot said when no
    meeting is open is told so (Suggest.ballot)."""
    if isinstance(found, Clarify) and offered(found.route, roles, phase):
        return found
    if (
        isinstance(found, Clarify)
        and found.route.says_why_not_now
        and g.may(roles, found.route.needs)
        and not found.choices
    ):
        return Command(found.route, found.args)
    if isinstance(found, Clarify) and found.route.exact and g.may(roles, found.route.needs):
        return Suggest(found.said, (), ballot=True)  # 「我同意」 with no meeting open: no vote
    if (
        isinstance(found, Clarify)
        and not found.route.exact
        and not g.may(roles, found.route.needs)
        and (not found.route.when or phase in found.route.when or found.route.says_why_not_now)
    ):
        # a member's 「人齐了，开始吧」; 「我看了没问题，签发」 in any phase: the leader's to sign
        # (not the nearest commands, as if 签发 had not been heard)
        return Suggest(found.said, (), theirs=found.route)
    head = found.head if isinstance(found, Unknown) else matching_form(found.said)
    scores = _scores(lexicon, head)
    now = _ranked(scores, roles, phase, any_phase=False)
    ever = _ranked(scores, roles, phase, any_phase=True)
    near = [route for _, route in now or ever]
    if now and ever and ever[0][0] > now[0][0]:
        near = [ever[0][1], *(r for r in near if r is not ever[0][1])]
    if isinstance(found, Clarify) and g.may(roles, found.route.needs):
        # a command said loosely outside its phase: the command that was said leads (its own
        # refusal then says why not now), not whatever the whole sentence is nearest to
        near = [found.route, *(r for r in near if r is not found.route)]
    return Suggest(found.said, tuple(near[:NEAR_LIMIT]))


# --- times, as typed ---------------------------------------------------------------------------


# What ends a clause: a command may be said after a remark and one of these.
_CLAUSE_ENDS = ",，。;；!！"
# Saying what a meeting is to discuss, at the start of a clause: 「讨论换届」「研究一下预算」「继续讨论预算」 (not
# a place: 「研究院三楼」「讨论室」).
DISCUSS = r"(?:继续|接着|再|重点)?(?:主要)?(?:讨论|审议|商议|商量|研究)(?![院所室区厅楼生会中心])(?:一下|下)?"
# What may follow a Route.timed verb: the agenda (「，议题：预算」「议题是…」「，讨论换届」).
_AGENDA_NEXT = re.compile(rf"(?:主要)?(?:议题|议程)|{DISCUSS}\S")
# What may follow a Route.timed verb besides the agenda: the place (「，在学会办公室」「，地点三楼」).
_PLACE_NEXT = re.compile(r"(?:在(?!线)|(?:会议)?地点)")
# A place said bare, then the agenda: 「，学会302，议题：…」「，302，议题是…」.
_PLACE_THEN_AGENDA = re.compile(rf"[^,，。;；!！?？\s]{{1,20}}[,，\s]+(?:{_AGENDA_NEXT.pattern})")
# A place said bare after the verb and a space or comma, and nothing else: 「…开会 学会302」
# 「…开会，三楼会议室」 (one word ending in a room number or a word for a room).
_BARE_PLACE = re.compile(
    r"[^,，。;；!！?？\s]{0,16}(?:楼|室|厅|馆|中心|大厦|酒店|宾馆|会场|[0-9]{3,4})"
)
# Said right before a Route.timed verb (「…学会会议室 再开一次会」「…我们就开个会」): the verb's.
_BEFORE_THE_VERB = re.compile(r"(?:我们|咱们|大家)?(?:就|再|先|又|还|也|要|来)$")
# What the meeting is, said between 开 and 会 (「开下半年的领导小组会」「开个碰头会」): the group's
# own meeting named so, not another event (「开学术年会」 convenes nothing).
_THE_MEETING_SAID = re.compile(
    r"[^,，。;；!！?？\s开]{0,10}?(?:领导小组|小组|碰头|短|例|专题|党建工作)(?:会议|会)"
    r"(?=$|[,，。;；!！\s:：])"
)
# Not coming (「在外地来不了」): a leave, not a place.
_CANNOT = re.compile(r"不了|不能|没法|无法|请假")
# Who a convening is told to, before its time: 「通知大家明天开会」「大家，明天下午三点开会」; and the
# words of a formal notice (「定于12月10日下午3点在学会302召开领导小组会议」「经研究，本次会议拟于…」).
_TIMED_LEAD = re.compile(
    r"^\s*(?:(?:(?:重新|再)?请?通知(?:一下)?(?:大家|各位|全体(?:成员)?)?|(?:大家|各位)(?:好|早|早上好|上午好|下午好|晚上好)?)[,，:：\s!！]*)?"
    r"(?:(?:经研究(?:决定)?|兹)[,，\s]*)?"
    r"(?:(?:(?:本次|此次)?会议)?(?:定于|订于|拟定于|拟于|拟在|将于|计划于|定在|安排在)[:：\s]*)?"
)
# What a notice ends with, no part of its place or agenda: 「，请准时参加」「，望各位按时出席。」.
_BE_THERE = re.compile(
    r"[,，。;；!！\s]*(?:请|望|希望)?(?:大家|各位|全体成员)?(?:务必)?(?:准时|按时)"
    r"(?:参加|出席|参会|到会|到场)(?:会议)?[,，。!！~\uff5e\s]*(?:谢谢)?[。!！]*$"
)
# A clause that may open a convening said after a remark: 「我们3月5号下午3点开个会」.
_CLAUSE_LEAD = re.compile(r"(?:我们|咱们|那|那就|就|所以)?(?:定|定在|就在|在|打算|准备|计划)?")


def _after_a_remark(before: str) -> str | None:
    """What follows the last clause end in `before` (the text ahead of a convening verb) when
    it opens with a time, as in 「各位，市里要求…，我们3月5号下午3点开个会」; else None."""
    cut = max(before.rfind(c) for c in _CLAUSE_ENDS)
    clause = before[cut + 1 :].lstrip()
    lead = _CLAUSE_LEAD.match(clause)
    if lead is None or (cut <= 0 and not lead.group()):  # (cut 0: nothing before the comma)
        return None
    clause = clause[lead.end() :]
    if not clause or (
        parse_leading_time(_nfkc_aligned(clause).text, _SOME_INSTANT, _SOME_ZONE, convening=True)
        is None
        and hourless_time(clause, _SOME_INSTANT, _SOME_ZONE, convening=True) is None
    ):
        return None
    return clause


_SOME_ZONE = ZoneInfo("Asia/Shanghai")
_SOME_INSTANT = datetime(2026, 1, 1, tzinfo=_SOME_ZONE)


def leading_time(
    args: str, now: datetime, tz: ZoneInfo, *, convening: bool = False
) -> ParsedTime | None:
    """parse_leading_time on the NFKC form of `args` (「15：30」 is 15:30), with the rest of
    the text returned as typed."""
    return _as_typed(args, partial(parse_leading_time, convening=convening), now, tz)


def hourless_time(
    args: str, now: datetime, tz: ZoneInfo, *, convening: bool = False
) -> Hourless | None:
    """parse_hourless on the NFKC form of `args` (「明天下午」 without the hour), with the rest
    of the text returned as typed."""
    return _as_typed(args, partial(parse_hourless, convening=convening), now, tz)


_Read = TypeVar("_Read", ParsedTime, Hourless)


def _as_typed(
    args: str,
    parse: Callable[[str, datetime, ZoneInfo], _Read | None],
    now: datetime,
    tz: ZoneInfo,
) -> _Read | None:
    """`parse` on the NFKC form of `args`, its `rest` the text after the time as typed."""
    form = _nfkc_aligned(args)
    found = parse(form.text, now, tz)
    if found is None or not found.rest:
        return found
    cut = len(form.text.rstrip()) - len(found.rest)
    return dataclasses.replace(found, rest=form.tail(cut).lstrip(",，、").strip())


def _nfkc_aligned(original: str) -> Aligned:
    chars: list[str] = []
    starts: list[int] = []
    for index, ch in enumerate(original):
        for out in unicodedata.normalize("NFKC", ch):
            chars.append(out)
            starts.append(index)
    return Aligned(original, "".join(chars), (*starts, len(original)))
